// Float reference kernels of the convolutional op set (NHWC), used by FloatExecutor.
// Plain loops written from the op definitions in ConvOps.swift; accumulation in float32 with four
// partial sums for dense convolutions (through an im2col row and FloatExecutor.gemmRow, like
// conv1x1), in Double for depthwise convolution, pooling and means.

extension FloatExecutor {
    /// Dense or depthwise NHWC convolution of `images` stacked images.
    static func conv(_ x: [Float], inShape: [Int], outShape: [Int], batch: Int, _ c: Conv2D) -> [Float] {
        let images = batch * inShape[0]
        let (h, w, cin) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow, n) = (outShape[1], outShape[2], outShape[3])
        let win = c.window
        let (kh, kw, cg) = (win.kernelH, win.kernelW, c.inChannelsPerGroup)
        let total = images * oh * ow * n
        return [Float](unsafeUninitializedCapacity: total) { out, count in
            x.withUnsafeBufferPointer { xp in
                c.weight.data.withUnsafeBufferPointer { wp in
                    let xb = xp.baseAddress!, wb = wp.baseAddress!, ob = out.baseAddress!
                    if c.group == 1 {
                        let k = kh * kw * cg
                        var patch = [Float](repeating: 0, count: k)
                        patch.withUnsafeMutableBufferPointer { pp in
                            let pb = pp.baseAddress!
                            for img in 0..<images {
                                for oy in 0..<oh {
                                    for ox in 0..<ow {
                                        var j = 0
                                        for ky in 0..<kh {
                                            let iy = oy * win.strideH - win.padTop + ky * win.dilationH
                                            for kx in 0..<kw {
                                                let ix = ox * win.strideW - win.padLeft + kx * win.dilationW
                                                if iy < 0 || iy >= h || ix < 0 || ix >= w {
                                                    for t in 0..<cg { pb[j + t] = 0 }
                                                } else {
                                                    let src = xb + ((img * h + iy) * w + ix) * cin
                                                    for t in 0..<cg { pb[j + t] = src[t] }
                                                }
                                                j += cg
                                            }
                                        }
                                        gemmRow(pb, wb, c.bias?.data, ob + ((img * oh + oy) * ow + ox) * n, n: n, k: k)
                                    }
                                }
                            }
                        }
                    } else {
                        let mult = n / c.group
                        for img in 0..<images {
                            for oy in 0..<oh {
                                for ox in 0..<ow {
                                    let o = ob + ((img * oh + oy) * ow + ox) * n
                                    for oc in 0..<n {
                                        let ic = oc / mult
                                        var s = Double(c.bias?.data[oc] ?? 0)
                                        for ky in 0..<kh {
                                            let iy = oy * win.strideH - win.padTop + ky * win.dilationH
                                            guard iy >= 0 && iy < h else { continue }
                                            for kx in 0..<kw {
                                                let ix = ox * win.strideW - win.padLeft + kx * win.dilationW
                                                guard ix >= 0 && ix < w else { continue }
                                                s += Double(xb[((img * h + iy) * w + ix) * cin + ic]) * Double(wb[(oc * kh + ky) * kw + kx])
                                            }
                                        }
                                        o[oc] = Float(s)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            count = total
        }
    }

    /// Average (`isMax` false) or max pooling, NHWC.
    static func pool(_ x: [Float], inShape: [Int], outShape: [Int], batch: Int, _ p: Pool2D, isMax: Bool) -> [Float] {
        let images = batch * inShape[0]
        let (h, w, ch) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow) = (outShape[1], outShape[2])
        let win = p.window
        let total = images * oh * ow * ch
        return [Float](unsafeUninitializedCapacity: total) { out, count in
            x.withUnsafeBufferPointer { xp in
                for img in 0..<images {
                    for oy in 0..<oh {
                        let y0 = oy * win.strideH - win.padTop
                        let ya = max(y0, 0), yb = min(y0 + win.kernelH, h)
                        for ox in 0..<ow {
                            let x0 = ox * win.strideW - win.padLeft
                            let xa = max(x0, 0), xb = min(x0 + win.kernelW, w)
                            let o = ((img * oh + oy) * ow + ox) * ch
                            // taps inside the padded input (count_include_pad counts these, not the overhang)
                            let padded = (min(y0 + win.kernelH, h + win.padBottom) - y0) * (min(x0 + win.kernelW, w + win.padRight) - x0)
                            let valid = max(yb - ya, 0) * max(xb - xa, 0)
                            for c in 0..<ch {
                                if isMax {
                                    var m = -Float.infinity
                                    for iy in ya..<max(yb, ya) { for ix in xa..<max(xb, xa) { m = max(m, xp[((img * h + iy) * w + ix) * ch + c]) } }
                                    out[o + c] = m
                                } else {
                                    var s = 0.0
                                    for iy in ya..<max(yb, ya) { for ix in xa..<max(xb, xa) { s += Double(xp[((img * h + iy) * w + ix) * ch + c]) } }
                                    let d = p.countIncludePad ? padded : valid
                                    out[o + c] = d > 0 ? Float(s / Double(d)) : 0
                                }
                            }
                        }
                    }
                }
            }
            count = total
        }
    }

    /// Mean over `axes` of each sample (reduced dimensions kept as 1), accumulated in Double.
    static func mean(_ x: [Float], shape: [Int], axes: [Int], batch: Int) -> [Float] {
        let rank = shape.count
        let per = shape.reduce(1, *)
        var outShape = shape
        for a in axes { outShape[a] = 1 }
        let outPer = outShape.reduce(1, *)
        var outStrides = [Int](repeating: 1, count: rank)
        if rank > 1 { for d in stride(from: rank - 2, through: 0, by: -1) { outStrides[d] = outStrides[d + 1] * outShape[d + 1] } }
        for a in axes { outStrides[a] = 0 }
        let n = Double(per / max(outPer, 1))
        var acc = [Double](repeating: 0, count: batch * outPer)
        var idx = [Int](repeating: 0, count: rank)
        for b in 0..<batch {
            for d in 0..<rank { idx[d] = 0 }
            var off = 0
            for i in 0..<per {
                acc[b * outPer + off] += Double(x[b * per + i])
                var d = rank - 1
                while d >= 0 {
                    idx[d] += 1
                    off += outStrides[d]
                    if idx[d] < shape[d] { break }
                    off -= outStrides[d] * shape[d]
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return acc.map { Float($0 / n) }
    }

    /// Constant padding of each sample.
    static func pad(_ x: [Float], shape: [Int], before: [Int], after: [Int], value: Float, batch: Int) -> [Float] {
        let rank = shape.count
        let outShape = (0..<rank).map { shape[$0] + before[$0] + after[$0] }
        let per = shape.reduce(1, *), outPer = outShape.reduce(1, *)
        var y = [Float](repeating: value, count: batch * outPer)
        guard per > 0, rank > 0 else { return y }
        var outStrides = [Int](repeating: 1, count: rank)
        if rank > 1 { for d in stride(from: rank - 2, through: 0, by: -1) { outStrides[d] = outStrides[d + 1] * outShape[d + 1] } }
        let row = shape[rank - 1]
        let rows = per / row
        var idx = [Int](repeating: 0, count: rank)
        for b in 0..<batch {
            for d in 0..<rank { idx[d] = 0 }
            for r in 0..<rows {
                var off = before[rank - 1]
                for d in 0..<(rank - 1) { off += (idx[d] + before[d]) * outStrides[d] }
                for j in 0..<row { y[b * outPer + off + j] = x[b * per + r * row + j] }
                var d = rank - 2
                while d >= 0 { idx[d] += 1; if idx[d] < shape[d] { break }; idx[d] = 0; d -= 1 }
            }
        }
        return y
    }

    /// Concatenation along `axis` of each sample.
    static func concat(_ xs: [[Float]], shapes: [[Int]], axis: Int, batch: Int) -> [Float] {
        let outer = shapes[0][..<axis].reduce(1, *)
        let chunks = shapes.map { $0[axis...].reduce(1, *) }
        let pers = shapes.map { $0.reduce(1, *) }
        var y: [Float] = []
        y.reserveCapacity(batch * pers.reduce(0, +))
        for b in 0..<batch {
            for o in 0..<outer {
                for (i, x) in xs.enumerated() {
                    let start = b * pers[i] + o * chunks[i]
                    y.append(contentsOf: x[start..<(start + chunks[i])])
                }
            }
        }
        return y
    }

    /// Elementwise product with the second operand broadcast per `mulBroadcast`.
    static func mul(_ a: [Float], _ b: [Float], aShape: [Int], bShape: [Int], batch: Int) -> [Float] {
        let per = aShape.reduce(1, *), bper = bShape.reduce(1, *)
        let mode = Op.mulBroadcast(aShape, bShape) ?? MulBroadcast.none
        var y = [Float](repeating: 0, count: a.count)
        let c = max(aShape.last ?? 1, 1)
        for s in 0..<batch {
            for i in 0..<per {
                let j: Int
                switch mode {
                case .none: j = i
                case .channel: j = i % c
                case .scalar: j = 0
                }
                y[s * per + i] = a[s * per + i] * b[s * bper + j]
            }
        }
        return y
    }

    /// x * scale[c] + shift[c] over the last axis.
    static func affine(_ x: [Float], shape: [Int], scale: ConstantTensor?, shift: ConstantTensor?) -> [Float] {
        let c = max(shape.last ?? 1, 1)
        var y = x
        for i in 0..<y.count {
            let ch = i % c
            var v = y[i]
            if let s = scale { v *= s.data.count == 1 ? s.data[0] : s.data[ch] }
            if let t = shift { v += t.data.count == 1 ? t.data[0] : t.data[ch] }
            y[i] = v
        }
        return y
    }
}
