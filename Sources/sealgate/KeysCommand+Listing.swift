import ArgumentParser
import Foundation

extension KeysCommand {
    /// How a `keys` listing is printed: a table for people, or the broker's JSON unchanged (`--json`) for scripts.
    struct ListingOutput: ParsableArguments {
        @Flag(help: "Print the broker's JSON answer unchanged (for scripts) instead of a table.") var json = false

        /// Prints `body` (a JSON array of objects) as a table of `columns` (heading, key), or as is with `--json`.
        /// - Parameter note: an optional remark printed after a row's columns.
        func print(_ body: Data, columns: [(heading: String, key: String)], note: ([String: Any]) -> String? = { _ in nil }) {
            guard !json, let rows = (try? JSONSerialization.jsonObject(with: body)) as? [[String: Any]] else {
                Swift.print(String(decoding: body, as: UTF8.self))
                return
            }
            guard !rows.isEmpty else {
                Swift.print("(none)")
                return
            }
            let cells = rows.map { row in columns.map { Self.text(row[$0.key]) } }
            let widths = columns.indices.map { i in max(columns[i].heading.count, cells.map { $0[i].count }.max() ?? 0) }
            func line(_ values: [String]) -> String {
                values.indices.map { i in i == values.count - 1 ? values[i] : values[i].padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  ")
            }
            Swift.print(line(columns.map(\.heading)))
            for (row, values) in zip(rows, cells) {
                Swift.print(line(values) + (note(row).map { "  (\($0))" } ?? ""))
            }
        }

        static func text(_ value: Any?) -> String {
            switch value {
            case let string as String: return string
            case let number as NSNumber: return number.stringValue
            case nil, is NSNull: return "-"
            case let other?: return String(describing: other)
            }
        }
    }
}
