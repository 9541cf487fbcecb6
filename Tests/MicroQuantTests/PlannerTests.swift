// Memory planner: lower bound on chains, aliasing, no overlap of live buffers.
import Testing
@testable import MQCalibration
@testable import MQGraph
@testable import MQPacking
@testable import MQQuantization

@Suite struct PlannerTests {
    @Test func greedyReachesLowerBoundOnChain() {
        // a chain a -> b -> c -> d: each op reads one buffer and writes the next
        let bufs = [ArenaBuffer(size: 100, first: -1, last: 0), ArenaBuffer(size: 300, first: 0, last: 1),
                    ArenaBuffer(size: 50, first: 1, last: 2), ArenaBuffer(size: 200, first: 2, last: 3)]
        let (off, arena) = placeGreedyBySize(bufs)
        // sizes rounded to 16: 112, 304, 64, 208. Live pairs: (112+304), (304+64), (64+208) -> bound 416
        #expect(arenaLowerBound(bufs) == 416)
        #expect(arena == 416)
        for o in off { #expect(o % 16 == 0) }
    }

    @Test func liveBuffersNeverOverlap() {
        var r = TestRNG(11)
        for _ in 0..<50 {
            var bufs: [ArenaBuffer] = []
            for _ in 0..<12 {
                let a = Int((r.next() + 1) * 5), b = Int((r.next() + 1) * 5)
                bufs.append(ArenaBuffer(size: 1 + Int((r.next() + 1) * 200), first: min(a, b), last: max(a, b)))
            }
            let (off, arena) = placeGreedyBySize(bufs)
            #expect(arena >= arenaLowerBound(bufs))
            for i in bufs.indices {
                #expect(off[i] + bufs[i].size <= arena && off[i] % 16 == 0)
                for j in bufs.indices where j != i && bufs[i].overlaps(bufs[j]) {
                    #expect(off[i] + bufs[i].size <= off[j] || off[j] + bufs[j].size <= off[i])
                }
            }
        }
    }

    @Test func aliasesReshapeAndInPlaceLUT() throws {
        let g = try makeConvNet()
        let (_, _, qm, _) = try calibrate(g)
        let plan = MemoryPlanner.plan(qm)
        let idx = { (n: String) in qm.tensorIndex(n)! }
        // reshape is a view: same buffer as its input
        #expect(plan.bufferOfTensor[idx("v")] == plan.bufferOfTensor[idx("t")])
        // tanh (standalone LUT) runs in place over its dead input "sr"
        #expect(plan.bufferOfTensor[idx("t")] == plan.bufferOfTensor[idx("sr")])
        // add writes over its dead input: "b" dies at the add ("as" does too; the first dead input is used)
        #expect(plan.bufferOfTensor[idx("sr")] == plan.bufferOfTensor[idx("as")])
        // the transpose output cannot alias its input
        #expect(plan.bufferOfTensor[idx("vt")] != plan.bufferOfTensor[idx("v")])
        #expect(plan.arenaSize >= plan.lowerBound)
        // conv1 has padding -> a scratch buffer
        #expect(plan.scratchOffsets[0] != nil)
        // keepAllAlive: no aliasing except views; every tensor disjoint
        let debug = MemoryPlanner.plan(qm, keepAllAlive: true)
        #expect(debug.bufferOfTensor[idx("t")] != debug.bufferOfTensor[idx("sr")])
        #expect(debug.bufferOfTensor[idx("v")] == debug.bufferOfTensor[idx("t")])
    }

    @Test func mlpChainPlanEqualsLowerBound() throws {
        let (_, _, qm, _) = try calibrate(try makeMLP())
        let plan = MemoryPlanner.plan(qm)
        // x(8) h(16) y(4): live sets {x,h} then {h,y}: 16+16 = 32 with 16-byte rounding
        #expect(plan.lowerBound == 32 && plan.arenaSize == 32)
    }
}
