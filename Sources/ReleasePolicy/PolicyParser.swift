/// Strict validation of the JSON form of policies, collecting every problem with its JSON path.
struct PolicyParser {
    /// The deepest nesting accepted; the rule's root node is at depth 1.
    static let maxDepth = 32
    /// The most nodes one policy's rule may have.
    static let maxNodes = 1000

    private(set) var problems: [String] = []
    private var nodeCount = 0
    private var names: Set<String> = []

    mutating func problem(_ path: String, _ message: String) {
        problems.append("\(path): \(message)")
    }

    /// `path.key`, or `path['key']` when the key is not an identifier.
    static func member(_ path: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.unicodeScalars.allSatisfy { s in
            ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) || s == "_"
        }
        return plain ? "\(path).\(key)" : "\(path)['\(key)']"
    }

    /// A reason code: snake_case ASCII, starting with a letter, at most 64 characters.
    static func isValidReason(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...64).contains(scalars.count), let first = scalars.first, ("a"..."z").contains(first),
            scalars.last != "_", !text.contains("__")
        else { return false }
        return scalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// A policy id or node name: 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit.
    static func isValidName(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        guard (1...64).contains(scalars.count), let first = scalars.first else { return false }
        func alnum(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("A"..."Z").contains(s) || ("0"..."9").contains(s) }
        return alnum(first) && scalars.allSatisfy { alnum($0) || $0 == "." || $0 == "_" || $0 == "-" }
    }

    // MARK: Documents

    /// Parses one policy document at `path`; node counts and names are per document.
    mutating func document(_ json: JSONValue, path: String) -> ReleasePolicyDocument? {
        nodeCount = 0
        names = []
        guard case .object(let members) = json else {
            problem(path, "expected a policy object, found \(json.typeName)")
            return nil
        }
        for key in members.keys.sorted() where !["id", "description", "applies_to", "rule"].contains(key) {
            problem(path, "unknown key '\(key)' (a policy has id, description, applies_to, rule)")
        }
        var id: String?
        switch members["id"] {
        case nil: problem(path, "missing 'id'")
        case .string(let text)? where Self.isValidName(text): id = text
        case .string(let text)?: problem(Self.member(path, "id"), "'\(text)' is not a valid id (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)")
        case let other?: problem(Self.member(path, "id"), "expected a string, found \(other.typeName)")
        }
        var description: String?
        switch members["description"] {
        case nil: break
        case .string(let text)?: description = text
        case let other?: problem(Self.member(path, "description"), "expected a string, found \(other.typeName)")
        }
        let selector = members["applies_to"].map { self.selector($0, path: Self.member(path, "applies_to")) } ?? ReleasePolicyDocument.Selector()
        var rule: PolicyNode?
        if let json = members["rule"] {
            rule = node(json, path: Self.member(path, "rule"), depth: 1)
        } else {
            problem(path, "missing 'rule'")
        }
        guard let id, let rule, let selector else { return nil }
        return ReleasePolicyDocument(id: id, description: description, appliesTo: selector, rule: rule)
    }

    mutating func selector(_ json: JSONValue, path: String) -> ReleasePolicyDocument.Selector? {
        guard case .object(let members) = json else {
            problem(path, "expected an object, found \(json.typeName)")
            return nil
        }
        var selector = ReleasePolicyDocument.Selector()
        var valid = true
        for key in members.keys.sorted() {
            guard let value = members[key] else { continue }
            let keyPath = Self.member(path, key)
            var items: [String] = []
            switch value {
            case .string(let s): items = [s]
            case .array(let array) where array.isEmpty:
                problem(keyPath, "empty list (leave the key out to match any)")
                valid = false
            case .array(let array):
                for (i, element) in array.enumerated() {
                    if case .string(let s) = element { items.append(s) } else {
                        problem("\(keyPath)[\(i)]", "expected a string, found \(element.typeName)")
                        valid = false
                    }
                }
            default:
                problem(keyPath, "expected a string or a list of strings, found \(value.typeName)")
                valid = false
            }
            switch key {
            case "tenant": selector.tenants = items
            case "data_class": selector.dataClasses = items
            case "resource_type": selector.resourceTypes = items
            case "resource_tag": selector.resourceTags = items
            default:
                problem(path, "unknown key '\(key)' (applies_to has tenant, data_class, resource_type, resource_tag)")
                valid = false
            }
        }
        return valid ? selector : nil
    }

    // MARK: Nodes

    static let kindKeys = ["allOf", "anyOf", "not", "field"]

    /// Parses a node at `path` and `depth` (the rule's root is depth 1).
    mutating func node(_ json: JSONValue, path: String, depth: Int) -> PolicyNode? {
        guard case .object(let members) = json else {
            problem(path, "expected a node object, found \(json.typeName)")
            return nil
        }
        guard depth <= Self.maxDepth else {
            problem(path, "nesting deeper than \(Self.maxDepth) levels")
            return nil
        }
        nodeCount += 1
        guard nodeCount <= Self.maxNodes else {
            if nodeCount == Self.maxNodes + 1 { problem(path, "more than \(Self.maxNodes) nodes in one policy") }
            return nil
        }
        let label = self.label(members, path: path)
        let kinds = Self.kindKeys.filter { members[$0] != nil }
        guard kinds.count == 1, let kind = kinds.first else {
            if kinds.isEmpty {
                let operators = members.keys.filter { PolicyTest.operatorNames.contains($0) }
                problem(path, operators.isEmpty ? "expected one of 'allOf', 'anyOf', 'not' or a condition with 'field'" : "condition without 'field'")
            } else {
                problem(path, "a node has exactly one of 'allOf', 'anyOf', 'not', 'field'; found " + kinds.map { "'\($0)'" }.joined(separator: ", "))
            }
            return nil
        }
        if kind == "field" { return condition(members, path: path, label: label) }
        for key in members.keys.sorted() where ![kind, "name", "reason"].contains(key) {
            problem(path, "unknown key '\(key)' in a '\(kind)' node")
        }
        let childPath = Self.member(path, kind)
        switch (kind, members[kind]) {
        case ("not", let child?):
            guard let inner = node(child, path: childPath, depth: depth + 1) else { return nil }
            return label.map { .not(inner, $0) }
        case (_, .array(let items)?):
            if items.isEmpty { problem(childPath, "empty '\(kind)'") }
            var children: [PolicyNode] = []
            for (i, item) in items.enumerated() {
                if let child = node(item, path: "\(childPath)[\(i)]", depth: depth + 1) { children.append(child) }
            }
            guard let label, !items.isEmpty, children.count == items.count else { return nil }
            return kind == "allOf" ? .allOf(children, label) : .anyOf(children, label)
        case (_, let other?):
            problem(childPath, "expected a list of nodes, found \(other.typeName)")
            return nil
        default:
            return nil
        }
    }

    mutating func label(_ members: [String: JSONValue], path: String) -> NodeLabel? {
        var label = NodeLabel()
        var valid = true
        switch members["name"] {
        case nil: break
        case .string(let name)? where Self.isValidName(name):
            if names.insert(name).inserted { label.name = name } else {
                problem(Self.member(path, "name"), "duplicate node name '\(name)' in this policy")
                valid = false
            }
        case .string(let name)?:
            problem(Self.member(path, "name"), "'\(name)' is not a valid name (1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit)")
            valid = false
        case let other?:
            problem(Self.member(path, "name"), "expected a string, found \(other.typeName)")
            valid = false
        }
        switch members["reason"] {
        case nil: break
        case .string(let reason)? where Self.isValidReason(reason): label.reason = reason
        case .string(let reason)?:
            problem(Self.member(path, "reason"), "'\(reason)' is not a snake_case reason code (a-z, 0-9, '_', starting with a letter, at most 64)")
            valid = false
        case let other?:
            problem(Self.member(path, "reason"), "expected a string, found \(other.typeName)")
            valid = false
        }
        return valid ? label : nil
    }

    mutating func condition(_ members: [String: JSONValue], path: String, label: NodeLabel?) -> PolicyNode? {
        var field: PolicyField?
        switch members["field"] {
        case .string(let name)?:
            field = PolicyField(rawValue: name)
            if field == nil { problem(Self.member(path, "field"), "unknown field '\(name)'") }
        case let other?: problem(Self.member(path, "field"), "expected a field name, found \(other.typeName)")
        case nil: break
        }
        var operators: [String] = []
        for key in members.keys.sorted() where !["field", "name", "reason"].contains(key) {
            if PolicyTest.operatorNames.contains(key) { operators.append(key) } else { problem(path, "unknown operator '\(key)'") }
        }
        guard operators.count == 1, let op = operators.first, let operand = members[op] else {
            if operators.isEmpty {
                problem(path, "condition without an operator (one of equals, in, >=, <=, exists)")
            } else {
                problem(path, "condition with \(operators.count) operators (" + operators.map { "'\($0)'" }.joined(separator: ", ") + "); exactly one is allowed")
            }
            return nil
        }
        let opPath = Self.member(path, op)
        var test: PolicyTest?
        switch (op, operand) {
        case ("equals", let value):
            if let scalar = value.scalar { test = .equals(scalar) } else {
                problem(opPath, "expected a string, number or boolean, found \(value.typeName)" + (value == .null ? " (use exists: false)" : ""))
            }
        case ("in", .array(let items)):
            var scalars: [PolicyValue] = []
            for (i, item) in items.enumerated() {
                if let scalar = item.scalar { scalars.append(scalar) } else { problem("\(opPath)[\(i)]", "expected a string, number or boolean, found \(item.typeName)") }
            }
            if items.isEmpty { problem(opPath, "empty 'in' list") } else if scalars.count == items.count { test = .isIn(scalars) }
        case (">=", .number(let n)): test = .atLeast(n)
        case ("<=", .number(let n)): test = .atMost(n)
        case ("exists", .bool(let b)): test = .exists(b)
        case ("in", let other): problem(opPath, "expected a list of scalars, found \(other.typeName)")
        case ("exists", let other): problem(opPath, "expected true or false, found \(other.typeName)")
        case (_, let other): problem(opPath, "expected a number, found \(other.typeName)")
        }
        guard let field, let test, let label else { return nil }
        return .condition(PolicyCondition(field, test), label)
    }
}
