// The decoded subset of the TFLite schema (schema.fbs): value types only, no behaviour.

/// A TFLite builtin operator code (BuiltinOperator). `name` knows every code of the schema.
public struct TFLiteOpCode: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The numeric code.
    public var raw: Int32
    /// A code as stored.
    public init(_ raw: Int32) { self.raw = raw }

    public static let add = TFLiteOpCode(0)
    public static let averagePool2D = TFLiteOpCode(1)
    public static let concatenation = TFLiteOpCode(2)
    public static let conv2D = TFLiteOpCode(3)
    public static let depthwiseConv2D = TFLiteOpCode(4)
    public static let dequantize = TFLiteOpCode(6)
    public static let fullyConnected = TFLiteOpCode(9)
    public static let logistic = TFLiteOpCode(14)
    public static let maxPool2D = TFLiteOpCode(17)
    public static let mul = TFLiteOpCode(18)
    public static let reshape = TFLiteOpCode(22)
    public static let softmax = TFLiteOpCode(25)
    public static let tanh = TFLiteOpCode(28)
    public static let custom = TFLiteOpCode(32)
    public static let pad = TFLiteOpCode(34)
    public static let mean = TFLiteOpCode(40)
    public static let squeeze = TFLiteOpCode(43)
    public static let quantize = TFLiteOpCode(114)
    public static let hardSwish = TFLiteOpCode(117)

    /// The schema's name (e.g. "CONV_2D"), or "BUILTIN_<n>" for a code newer than this table.
    public var name: String {
        raw >= 0 && Int(raw) < tfliteOpNames.count ? tfliteOpNames[Int(raw)] : "BUILTIN_\(raw)"
    }
    public var description: String { name }
}

/// BuiltinOperator names by code (schema.fbs).
let tfliteOpNames: [String] = [
    "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE",
    "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU",
    "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF", "TANH",
    "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE", "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN",
    "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU",
    "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT",
    "SLICE", "SIN", "TRANSPOSE_CONV", "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG",
    "SUM", "SQRT", "RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
    "LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY",
    "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
    "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND",
    "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
    "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2",
    "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL", "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE",
    "BROADCAST_TO", "RFFT2D", "CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
    "HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE",
    "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL",
    "GELU", "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR", "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY", "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE", "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL", "STABLEHLO_REDUCE", "STABLEHLO_ABS",
    "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL", "STABLEHLO_FLOOR", "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR", "STABLEHLO_POWER", "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT", "STABLEHLO_TANH", "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE", "STABLEHLO_CONVERT", "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD", "STABLEHLO_IOTA", "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT",
    "STABLEHLO_WHILE", "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR",
    "REDUCE_WINDOW", "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT", "STABLEHLO_CASE",
]

/// TensorType.
public struct TFLiteTensorType: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var raw: UInt8
    public init(_ raw: UInt8) { self.raw = raw }
    public static let float32 = TFLiteTensorType(0)
    public static let int32 = TFLiteTensorType(2)
    public static let uint8 = TFLiteTensorType(3)
    public static let int64 = TFLiteTensorType(4)
    public static let int16 = TFLiteTensorType(7)
    public static let int8 = TFLiteTensorType(9)
    static let names = ["FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL", "INT16", "COMPLEX64", "INT8",
                        "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT", "UINT32", "UINT16", "INT4", "BFLOAT16"]
    public var description: String { Int(raw) < Self.names.count ? Self.names[Int(raw)] : "TYPE_\(raw)" }
}

/// ActivationFunctionType.
public enum TFLiteActivation: UInt8, Sendable, Equatable {
    case none = 0, relu = 1, reluN1To1 = 2, relu6 = 3, tanh = 4, signBit = 5
}

/// Padding.
public enum TFLitePadding: UInt8, Sendable, Equatable {
    case same = 0, valid = 1
}

/// An OperatorCode: the effective code is max(builtin_code, deprecated_builtin_code) (old files set
/// only the deprecated int8 field; new ones set both, with 127 = PLACEHOLDER_FOR_GREATER_OP_CODES in
/// the deprecated field for codes above 127).
public struct TFLiteOperatorCode: Sendable, Equatable {
    public var deprecatedBuiltinCode: Int8
    public var builtinCode: Int32
    public var customCode: String?
    public var version: Int32
    /// The effective code.
    public var code: TFLiteOpCode { TFLiteOpCode(max(builtinCode, Int32(deprecatedBuiltinCode))) }
}

/// QuantizationParameters (affine): scale[i], zero_point[i] per channel along quantized_dimension, or one each.
public struct TFLiteQuantization: Sendable, Equatable {
    public var min: [Float]
    public var max: [Float]
    public var scale: [Float]
    public var zeroPoint: [Int64]
    /// The union type of `details` (0 = none; anything else is a non-affine scheme).
    public var detailsType: UInt8
    public var quantizedDimension: Int32
}

/// A Tensor.
public struct TFLiteTensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int32]
    public var type: TFLiteTensorType
    /// Index into Model.buffers (0 = the empty sentinel buffer: no constant data).
    public var buffer: Int
    public var quantization: TFLiteQuantization?
    public var isVariable: Bool
    /// True when the tensor has sparsity parameters (not supported by the importer).
    public var isSparse: Bool
}

/// Conv2DOptions.
public struct TFLiteConv2DOptions: Sendable, Equatable {
    public var padding: TFLitePadding
    public var strideW: Int32, strideH: Int32
    public var activation: TFLiteActivation
    public var dilationW: Int32, dilationH: Int32
}

/// DepthwiseConv2DOptions.
public struct TFLiteDepthwiseConv2DOptions: Sendable, Equatable {
    public var padding: TFLitePadding
    public var strideW: Int32, strideH: Int32
    public var depthMultiplier: Int32
    public var activation: TFLiteActivation
    public var dilationW: Int32, dilationH: Int32
}

/// Pool2DOptions.
public struct TFLitePool2DOptions: Sendable, Equatable {
    public var padding: TFLitePadding
    public var strideW: Int32, strideH: Int32
    public var filterW: Int32, filterH: Int32
    public var activation: TFLiteActivation
}

/// FullyConnectedOptions.
public struct TFLiteFullyConnectedOptions: Sendable, Equatable {
    public var activation: TFLiteActivation
    /// 0 = DEFAULT, 1 = SHUFFLED4x16INT8.
    public var weightsFormat: UInt8
    public var keepNumDims: Bool
}

/// The builtin options union (the members this reader decodes; others keep only their type id).
public enum TFLiteOptions: Sendable, Equatable {
    case none
    case conv2D(TFLiteConv2DOptions)
    case depthwiseConv2D(TFLiteDepthwiseConv2DOptions)
    case pool2D(TFLitePool2DOptions)
    case fullyConnected(TFLiteFullyConnectedOptions)
    case softmax(beta: Float)
    case concatenation(axis: Int32, activation: TFLiteActivation)
    case add(activation: TFLiteActivation)
    case mul(activation: TFLiteActivation)
    case reshape(newShape: [Int32]?)
    case squeeze(dims: [Int32])
    case reducer(keepDims: Bool)
    /// A member with no fields the importer needs (PadOptions, QuantizeOptions, ...), by union type id.
    case other(type: UInt8)
}

/// An Operator.
public struct TFLiteOperator: Sendable, Equatable {
    /// Index into Model.operatorCodes (checked).
    public var opcodeIndex: Int
    /// Tensor indices; -1 = optional input not given (others checked to be in range).
    public var inputs: [Int]
    public var outputs: [Int]
    public var options: TFLiteOptions
}

/// A SubGraph.
public struct TFLiteSubGraph: Sendable, Equatable {
    public var name: String
    public var tensors: [TFLiteTensor]
    public var inputs: [Int]
    public var outputs: [Int]
    public var operators: [TFLiteOperator]
    /// As given.
    public init(name: String, tensors: [TFLiteTensor], inputs: [Int], outputs: [Int], operators: [TFLiteOperator]) {
        self.name = name; self.tensors = tensors; self.inputs = inputs; self.outputs = outputs; self.operators = operators
    }
}

/// A Model.
public struct TFLiteModel: Sendable, Equatable {
    /// Schema version (3 for every file the current converter writes).
    public var version: UInt32
    public var description: String
    public var operatorCodes: [TFLiteOperatorCode]
    public var subgraphs: [TFLiteSubGraph]
    /// Constant data of each buffer (empty when the buffer holds none).
    public var buffers: [[UInt8]]

    /// The effective op code of an operator.
    public func opCode(_ op: TFLiteOperator) -> TFLiteOpCode {
        operatorCodes.indices.contains(op.opcodeIndex) ? operatorCodes[op.opcodeIndex].code : TFLiteOpCode(-1)
    }
}
