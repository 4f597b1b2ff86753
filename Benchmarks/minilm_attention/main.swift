// MiniLM attention on its own: the fused AVX-512 kernel (`AVX512Attention.head`) against the unfused path it replaced
// (two `AVX512GEMM.multiply` products with the head's whole L × L scores in between, softmax by
// `AVX512Vector.softmax`), alternated in one process on random [q | k | v] rows of 2,048 tokens (12 heads of 32),
// best of 9 by the thread's CPU time. Built and run by Benchmarks/minilm_attention.sh; prints whether the two agree
// bit for bit.
import Glibc

func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

func floats(_ n: Int) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64).bindMemory(to: Float.self, capacity: n)
}

let length = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 128 : 128
let heads = 12, headSize = 32, hidden = heads * headSize, width = 3 * hidden, panel = 32
let sequences = max(1, 2048 / length), total = sequences * length
let qkv = floats(total * width)
var state: UInt64 = 16
for i in 0..<(total * width) {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    qkv[i] = Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
}
let unfusedOut = floats(total * hidden), fusedOut = floats(total * hidden)
let keyPanels = (length + panel - 1) / panel
let keys = floats(keyPanels * panel * headSize), values = floats(length * panel)
let scores = floats(max(length * length, AVX512Attention.scratchCount(longest: length)))
let gemm = floats(AVX512GEMM.scratchCount)
let scale = 1 / Float(headSize).squareRoot()

/// One layer's attention over all sequences, with the encoder's gathers (keys into panels, values into a panel).
func attention(fused: Bool, into out: UnsafeMutablePointer<Float>) {
    for s in 0..<sequences {
        let start = s * length
        for head in 0..<heads {
            let q = head * headSize, k = hidden + head * headSize, v = 2 * hidden + head * headSize
            for j in 0..<(keyPanels * panel) {
                let column = keys + (j / panel * headSize) * panel + j % panel
                for d in 0..<headSize { column[d * panel] = j < length ? qkv[(start + j) * width + k + d] : 0 }
            }
            for j in 0..<length {
                for d in 0..<headSize { values[j * panel + d] = qkv[(start + j) * width + v + d] }
            }
            if fused {
                AVX512Attention.head(
                    queries: qkv + start * width + q, ldq: width, keys: keys, values: values, length: length, scale: scale,
                    into: out + start * hidden + q, ldo: hidden, scratch: scores)
            } else {
                AVX512GEMM.multiply(
                    qkv + start * width + q, lda: width, rows: length, inputs: headSize, panels: keys, bias: nil, outputs: length,
                    into: scores, ldc: length, scratch: gemm)
                for i in 0..<length { AVX512Vector.softmax(scores + i * length, count: length, scale: scale) }
                AVX512GEMM.multiply(
                    scores, lda: length, rows: length, inputs: length, panels: values, bias: nil, outputs: headSize,
                    into: out + start * hidden + q, ldc: hidden, scratch: gemm)
            }
        }
    }
}

var best = [Double.infinity, Double.infinity]
for _ in 0..<9 {
    for variant in 0..<2 {
        let t = threadCPU()
        attention(fused: variant == 1, into: variant == 1 ? fusedOut : unfusedOut)
        best[variant] = min(best[variant], threadCPU() - t)
    }
}
var identical = true
for i in 0..<(total * hidden) where unfusedOut[i] != fusedOut[i] { identical = false }
let ms = best.map { ($0 * 1e6).rounded() / 1e3 }
print("L=\(length), \(sequences) sequences x \(heads) heads: unfused \(ms[0]) ms, fused \(ms[1]) ms, fused/unfused time "
    + "\((best[1] / best[0] * 1000).rounded() / 1000), bit-identical: \(identical)")
