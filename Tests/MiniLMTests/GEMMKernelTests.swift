import Foundation
import MiniLM
import MiniLMKernels
import SealgateTestSupport
import Testing

/// The kernels this CPU can run, in this build.
let runnableKernels = GEMMKernel.allCases.filter { $0.runs(on: .current) }

/// `x · Wᵀ + b` (with `gelu`, its GELU) through `PackedLinear` with `kernel`.
func packedProduct(
    _ x: [Float], _ w: [Float], _ b: [Float], rows: Int, inputs: Int, outputs: Int, kernel: GEMMKernel, gelu: Bool = false
) -> [Float] {
    let layer = PackedLinear(weight: w, bias: b, outputs: outputs, inputs: inputs, kernel: kernel)
    #expect(layer.kernel == kernel)
    var y = [Float](repeating: .nan, count: rows * outputs)
    x.withUnsafeBufferPointer { xb in
        y.withUnsafeMutableBufferPointer { yb in
            guard let xp = xb.baseAddress, let yp = yb.baseAddress else { return }
            layer.apply(xp, rows: rows, into: yp, gelu: gelu)
        }
    }
    return y
}

/// Random `rows × inputs` activations, an `outputs × inputs` weight and a bias, uniform in [−1, 1], from `seed`.
func randomProblem(rows: Int, inputs: Int, outputs: Int, seed: UInt64) -> (x: [Float], w: [Float], b: [Float]) {
    var rng = SplitMix64(seed: seed)
    func values(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
    return (values(rows * inputs), values(outputs * inputs), values(outputs))
}

/// The product in double precision, and per entry the sum of the magnitudes of its terms.
struct NaiveProduct {
    let rows: Int, outputs: Int
    var exact: [Double] = []
    var magnitude: [Double] = []

    init(_ x: [Float], _ w: [Float], _ b: [Float], rows: Int, inputs: Int, outputs: Int) {
        self.rows = rows
        self.outputs = outputs
        var exact = [Double](repeating: 0, count: rows * outputs), magnitude = exact
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                for i in 0..<rows {
                    for j in 0..<outputs {
                        var sum = Double(b[j]), size = abs(Double(b[j]))
                        for k in 0..<inputs {
                            let term = Double(xp[i * inputs + k]) * Double(wp[j * inputs + k])
                            sum += term
                            size += abs(term)
                        }
                        exact[i * outputs + j] = sum
                        magnitude[i * outputs + j] = size
                    }
                }
            }
        }
        self.exact = exact
        self.magnitude = magnitude
    }

    /// Each entry of `y` within 1e-5 of the sum of the magnitudes of its terms: float32 rounding over ≤ 1,536 terms
    /// stays far below; a wrong tile, panel, block or edge is off by whole terms.
    func expectMatches(_ y: [Float], _ label: String) {
        #expect(y.count == rows * outputs, "\(label): \(y.count) values")
        var worst = 0.0
        for e in 0..<min(y.count, exact.count) {
            let error = abs(Double(y[e]) - exact[e])
            worst = max(worst, error / (magnitude[e] + 1e-6))
            if !(error <= 1e-5 * magnitude[e] + 1e-6) {
                Issue.record("\(label): y[\(e / outputs)][\(e % outputs)] = \(y[e]), expected \(exact[e])")
                return
            }
        }
        print("\(label): worst error \(worst) of the terms' magnitude")
    }
}

@Suite("GEMM kernels: chosen once from CPUID, and every kernel this CPU runs computes x·Wᵀ + b")
struct GEMMKernelTests {
    @Test("selection: AVX-512 only with AVX-512 and AVX2, AVX2 on AVX2-only x86-64, none below it, portable elsewhere")
    func selection() {
        func cpu(_ x86: Bool, _ avx2: Bool, _ avx512: Bool) -> CPUCapabilities { CPUCapabilities(isX86_64: x86, avx2FMA: avx2, avx512: avx512) }
        #expect(GEMMKernel.select(for: cpu(true, true, true)) == .avx512)
        #expect(GEMMKernel.select(for: cpu(true, true, false)) == .avx2)
        #expect(GEMMKernel.select(for: cpu(true, false, false)) == nil)
        #expect(GEMMKernel.select(for: cpu(true, false, true)) == nil)
        #expect(GEMMKernel.select(for: cpu(false, false, false)) == .portable)
        #expect(!GEMMKernel.avx512.runs(on: cpu(true, true, false)))
        #expect(!GEMMKernel.avx2.runs(on: cpu(true, false, false)))
        #expect(GEMMKernel.selected == GEMMKernel.select(for: .current))
        #if arch(x86_64)
        let native = true
        #else
        let native = false
        #endif
        for avx2 in [false, true] {
            for avx512 in [false, true] {
                let machine = cpu(native, avx2, avx512)
                if let kernel = GEMMKernel.select(for: machine) { #expect(kernel.runs(on: machine), "\(machine)") }
            }
        }
        if let selected = GEMMKernel.selected { #expect(runnableKernels.contains(selected)) }
    }

    @Test("CPUID and XGETBV agree with the flags the Linux kernel lists in /proc/cpuinfo",
          .enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo"), "no /proc/cpuinfo on this system"))
    func cpuidMatchesProcCPUInfo() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") }
        let flags = Set((line ?? "").split(separator: " ").map(String.init))
        let current = CPUCapabilities.current
        #if arch(x86_64)
        #expect(current.isX86_64)
        #expect(current.avx2FMA == (flags.contains("avx2") && flags.contains("fma")))
        #expect(current.avx512 == ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains))
        #else
        #expect(current == CPUCapabilities(isX86_64: false, avx2FMA: false, avx512: false))
        #endif
        print("CPU: \(current); GEMM kernel: \(GEMMKernel.selected?.description ?? "none"); runnable: \(runnableKernels)")
    }

    // (157, 390, 131) and (300, 203, 100) take the AVX-512 kernel's packed path (≥ 4 panels) across row blocks (144),
    // depth blocks (192) with a depth tail not a multiple of 4, a partial last panel and edge rows; (150, 520, 70)
    // its in-place path (3 panels) across the same blocks.
    @Test("every kernel this CPU runs matches a naive double-precision product; tile, panel and block edges included",
          arguments: [(1, 384, 384), (5, 7, 3), (13, 300, 40), (150, 520, 70), (64, 1536, 384), (157, 390, 131), (300, 203, 100)])
    func kernelsMatchNaive(rows: Int, inputs: Int, outputs: Int) {
        #expect(!runnableKernels.isEmpty || GEMMKernel.selected == nil)
        let (x, w, b) = randomProblem(rows: rows, inputs: inputs, outputs: outputs, seed: UInt64(rows * 1_000_003 + inputs * 101 + outputs))
        let reference = NaiveProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs)
        for kernel in runnableKernels {
            let y = packedProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs, kernel: kernel)
            reference.expectMatches(y, "\(kernel) \(rows)×\(inputs)→\(outputs)")
        }
    }

    @Test("the AVX-512 and AVX2 kernels agree with each other and with the naive product at MiniLM's shapes",
          .enabled(if: GEMMKernel.avx512.runs(on: .current), "this CPU lacks AVX-512: only the AVX2 (or portable) kernel runs here"),
          arguments: [(96, 384, 1152), (50, 384, 1536), (37, 1536, 384)])
    func avx512AgreesWithAVX2(rows: Int, inputs: Int, outputs: Int) {
        let (x, w, b) = randomProblem(rows: rows, inputs: inputs, outputs: outputs, seed: 16)
        let wide = packedProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs, kernel: .avx512)
        let narrow = packedProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs, kernel: .avx2)
        let reference = NaiveProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs)
        reference.expectMatches(wide, "avx512 \(rows)×\(inputs)→\(outputs)")
        reference.expectMatches(narrow, "avx2 \(rows)×\(inputs)→\(outputs)")
        let largest = zip(wide, narrow).map { abs($0 - $1) }.max() ?? .infinity
        #expect(largest < 1e-3, "largest difference between the kernels: \(largest)")
    }

    @Test("bias + GELU in the GEMM epilogue is the exact GELU of the whole product with every kernel (applied once, after the last input block)",
          arguments: [(13, 300, 40), (50, 384, 1536), (37, 1536, 384), (1, 7, 33), (157, 390, 131)])
    func fusedGELU(rows: Int, inputs: Int, outputs: Int) {
        let (x, w, b) = randomProblem(rows: rows, inputs: inputs, outputs: outputs, seed: UInt64(rows * 7 + inputs * 11 + outputs))
        let reference = NaiveProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs)
        let expected = reference.exact.map { z in 0.5 * z * (1 + erf(z / 2.0.squareRoot())) }
        // The pre-activations straddle zero, so GELU visibly changes the product (a missing GELU fails below).
        #expect(reference.exact.contains { $0 < -1 } && reference.exact.contains { $0 > 1 })
        for kernel in runnableKernels {
            let y = packedProduct(x, w, b, rows: rows, inputs: inputs, outputs: outputs, kernel: kernel, gelu: true)
            #expect(y.count == expected.count)
            var worst = 0.0
            for e in 0..<min(y.count, expected.count) {
                let error = abs(Double(y[e]) - expected[e])
                worst = max(worst, error)
                // GELU's slope is at most 1.13: the product's rounding (≤ 1e-5 of the terms' magnitude) passes through,
                // plus the erf approximation (1.5e-7) and float rounding of the activation itself.
                if !(error <= 1.2e-5 * reference.magnitude[e] + 1e-6 * (1 + abs(expected[e]))) {
                    Issue.record("\(kernel) \(rows)×\(inputs)→\(outputs): y[\(e / outputs)][\(e % outputs)] = \(y[e]), expected \(expected[e])")
                    break
                }
            }
            print("\(kernel) GELU \(rows)×\(inputs)→\(outputs): worst absolute error \(worst)")
        }
    }

    @Test("an embedder asked for a kernel this CPU cannot run refuses with unsupported_cpu before reading any file")
    func unrunnableKernelRefused() {
        for kernel in GEMMKernel.allCases where !kernel.runs(on: .current) {
            #expect(throws: MiniLMError.self) { try MiniLMEmbedder(weights: Data(), vocabulary: Data(), kernel: kernel) }
            do {
                _ = try MiniLMEmbedder(weights: Data(), vocabulary: Data(), kernel: kernel)
            } catch let error as MiniLMError {
                #expect(error.reason == .unsupportedCPU, "\(kernel): \(error)")
            } catch {
                Issue.record("\(kernel): \(error)")
            }
        }
    }
}
