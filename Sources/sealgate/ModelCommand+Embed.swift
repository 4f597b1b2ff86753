import ArgumentParser
import Foundation
import MiniLM
import MiniLMKernels

extension ModelCommand {
    /// `sealgate model embed`: the in-process MiniLM embedder on texts from standard input.
    struct Embed: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "embed",
            abstract: "Embed texts with the in-process MiniLM embedder (all-MiniLM-L6-v2, 384 dimensions).",
            discussion: """
                Reads one JSON string per line from standard input and writes one JSON array of 384 numbers per line, \
                in order. --artifact is a directory holding model.safetensors and vocab.txt. --timing prints \
                'embedded N texts (T tokens) in S s (CPU C s), kernel K' to standard error (the embedding only, after \
                --warm-up texts; C is the process's CPU time, all threads), which Benchmarks/minilm_throughput.py reads. --gemm runs another dense-layer kernel than the \
                one this CPU selects (avx512-12x32, avx2-6x16, portable-6x16), if it can run here. Exit status 1 with \
                the reason when the model or the kernel is refused.
                """)

        @Option(help: "Directory with model.safetensors and vocab.txt.") var artifact: String
        @Option(help: "Batches embedded at once (default: the number of cores).") var threads = ProcessInfo.processInfo.activeProcessorCount
        @Option(name: .customLong("warm-up"), help: "Embed this many of the texts once before timing.") var warmUp = 0
        @Flag(help: "Print the embedding time to standard error.") var timing = false
        @Option(help: "Dense-layer kernel (default: the one this CPU selects).") var gemm: String?
        @Flag(name: .customLong("no-output"), help: "Do not print the vectors.") var noOutput = false

        func validate() throws {
            if threads < 1 { throw ValidationError("--threads must be at least 1") }
            if let gemm, GEMMKernel(rawValue: gemm) == nil {
                throw ValidationError("--gemm must be one of \(GEMMKernel.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() async throws {
            let embedder: MiniLMEmbedder
            do {
                embedder = try MiniLMEmbedder(
                    directory: URL(fileURLWithPath: artifact), parallelism: threads, kernel: gemm.flatMap(GEMMKernel.init(rawValue:)))
            } catch let error as MiniLMError {
                FileHandle.standardError.write(Data("refused (\(error.reason.rawValue)): \(error.message)\n".utf8))
                throw ExitCode(1)
            }
            var texts: [String] = []
            while let line = readLine(strippingNewline: true) {
                guard let data = line.data(using: .utf8), let text = try? JSONDecoder().decode(String.self, from: data) else {
                    FileHandle.standardError.write(Data("line \(texts.count + 1) is not a JSON string\n".utf8))
                    throw ExitCode(1)
                }
                texts.append(text)
            }
            if warmUp > 0 { _ = try await embedder.embed(Array(texts.prefix(warmUp))) }
            let clock = ContinuousClock()
            let start = clock.now, cpuStart = Self.processCPUSeconds()
            let vectors = try await embedder.embed(texts)
            let elapsed = clock.now - start, cpu = Self.processCPUSeconds() - cpuStart
            if timing {
                let tokens = texts.reduce(0) { $0 + embedder.tokenize($1).count }
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                FileHandle.standardError.write(Data("embedded \(texts.count) texts (\(tokens) tokens) in \(String(format: "%.3f", seconds)) s (CPU \(String(format: "%.3f", cpu)) s), kernel \(embedder.kernel)\n".utf8))
            }
            guard !noOutput else { return }
            var out = ""
            for vector in vectors {
                out += "[" + vector.map { String($0) }.joined(separator: ",") + "]\n"
                if out.utf8.count > 1 << 16 {
                    FileHandle.standardOutput.write(Data(out.utf8))
                    out = ""
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
        }

        /// CPU time of the whole process (every thread), from CLOCK_PROCESS_CPUTIME_ID.
        static func processCPUSeconds() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
    }
}
