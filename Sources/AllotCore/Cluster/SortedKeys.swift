/// A key of a candidate index: the free amount of the primary resource, then the node or device number.
struct CandidateKey: Comparable, Hashable, Sendable {
    var value: Int64
    var id: Int32

    static func < (lhs: Self, rhs: Self) -> Bool { lhs.value != rhs.value ? lhs.value < rhs.value : lhs.id < rhs.id }
}

/// An ordered set of keys kept as a list of short sorted chunks (candidate nodes by free amount; the pending
/// queue in a static policy order).
///
/// Insert and remove cost a binary search plus a move within one chunk (at most ``maxChunk`` keys),
/// which keeps a 10,000-node index updatable in well under a microsecond while staying a plain value type
/// that copies cheaply for what-if planning.
struct SortedKeys<Key: Comparable & Sendable>: Sendable {
    struct Position: Equatable {
        var chunk: Int
        var offset: Int
    }

    private static var maxChunk: Int { 256 }
    private var chunks: [[Key]] = []
    private var maxes: [Key] = []
    private(set) var count = 0

    init() {}

    mutating func insert(_ key: Key) {
        count += 1
        guard !chunks.isEmpty else {
            chunks = [[key]]
            maxes = [key]
            return
        }
        var chunkIndex = Self.lowerBound(maxes, key)
        if chunkIndex == chunks.count { chunkIndex -= 1 }
        let offset = Self.lowerBound(chunks[chunkIndex], key)
        chunks[chunkIndex].insert(key, at: offset)
        maxes[chunkIndex] = chunks[chunkIndex][chunks[chunkIndex].count - 1]
        if chunks[chunkIndex].count > Self.maxChunk {
            let half = chunks[chunkIndex].count / 2
            let upper = Array(chunks[chunkIndex][half...])
            chunks[chunkIndex].removeSubrange(half...)
            maxes[chunkIndex] = chunks[chunkIndex][half - 1]
            chunks.insert(upper, at: chunkIndex + 1)
            maxes.insert(upper[upper.count - 1], at: chunkIndex + 1)
        }
    }

    @discardableResult
    mutating func remove(_ key: Key) -> Bool {
        let chunkIndex = Self.lowerBound(maxes, key)
        guard chunkIndex < chunks.count else { return false }
        let offset = Self.lowerBound(chunks[chunkIndex], key)
        guard offset < chunks[chunkIndex].count, chunks[chunkIndex][offset] == key else { return false }
        count -= 1
        chunks[chunkIndex].remove(at: offset)
        if chunks[chunkIndex].isEmpty {
            chunks.remove(at: chunkIndex)
            maxes.remove(at: chunkIndex)
        } else {
            maxes[chunkIndex] = chunks[chunkIndex][chunks[chunkIndex].count - 1]
        }
        return true
    }

    /// The position of the first key not less than `key`.
    func lowerBound(_ key: Key) -> Position? {
        let chunkIndex = Self.lowerBound(maxes, key)
        guard chunkIndex < chunks.count else { return nil }
        return Position(chunk: chunkIndex, offset: Self.lowerBound(chunks[chunkIndex], key))
    }

    /// The position of the smallest key.
    var firstPosition: Position? { chunks.isEmpty ? nil : Position(chunk: 0, offset: 0) }

    /// The position of the largest key.
    var lastPosition: Position? {
        chunks.isEmpty ? nil : Position(chunk: chunks.count - 1, offset: chunks[chunks.count - 1].count - 1)
    }

    subscript(position: Position) -> Key { chunks[position.chunk][position.offset] }

    func position(after position: Position) -> Position? {
        if position.offset + 1 < chunks[position.chunk].count { return Position(chunk: position.chunk, offset: position.offset + 1) }
        return position.chunk + 1 < chunks.count ? Position(chunk: position.chunk + 1, offset: 0) : nil
    }

    func position(before position: Position) -> Position? {
        if position.offset > 0 { return Position(chunk: position.chunk, offset: position.offset - 1) }
        return position.chunk > 0 ? Position(chunk: position.chunk - 1, offset: chunks[position.chunk - 1].count - 1) : nil
    }

    private static func lowerBound(_ array: [Key], _ key: Key) -> Int {
        var low = 0
        var high = array.count
        while low < high {
            let mid = (low + high) >> 1
            if array[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
