/// A sorted set of sequence numbers kept in buckets of 1,024 consecutive values, so that inserting,
/// removing, paging from a cursor and ranking all cost about the size of a bucket plus the number of buckets
/// (a thousand buckets for a million live jobs), never a pass over every value.
struct SequenceIndex: Sendable {
    private static let shift: Int64 = 10
    /// Non-empty buckets by key (`value >> shift`), each sorted.
    private var buckets: [Int64: [Int64]] = [:]
    /// The keys of the non-empty buckets, sorted.
    private var keys: [Int64] = []
    private(set) var count = 0

    mutating func insert(_ value: Int64) {
        let key = value >> Self.shift
        if buckets[key] == nil {
            keys.insert(key, at: Self.firstIndex(in: keys, notBelow: key))
            buckets[key] = []
        }
        let index = Self.firstIndex(in: buckets[key]!, notBelow: value)
        if index < buckets[key]!.count, buckets[key]![index] == value { return }
        buckets[key]!.insert(value, at: index)
        count += 1
    }

    mutating func remove(_ value: Int64) {
        let key = value >> Self.shift
        guard let bucket = buckets[key] else { return }
        let index = Self.firstIndex(in: bucket, notBelow: value)
        guard index < bucket.count, bucket[index] == value else { return }
        count -= 1
        if bucket.count == 1 {
            buckets[key] = nil
            keys.remove(at: Self.firstIndex(in: keys, notBelow: key))
        } else {
            buckets[key]!.remove(at: index)
        }
    }

    func contains(_ value: Int64) -> Bool {
        guard let bucket = buckets[value >> Self.shift] else { return false }
        let index = Self.firstIndex(in: bucket, notBelow: value)
        return index < bucket.count && bucket[index] == value
    }

    /// How many values are below `value`.
    func rank(of value: Int64) -> Int {
        let key = value >> Self.shift
        var below = 0
        for other in keys {
            if other >= key { break }
            below += buckets[other]!.count
        }
        if let bucket = buckets[key] { below += Self.firstIndex(in: bucket, notBelow: value) }
        return below
    }

    /// Up to `limit` values strictly between `after` and `before`, ascending (or descending), that `include` takes.
    func values(after: Int64?, before: Int64?, descending: Bool, limit: Int, where include: (Int64) -> Bool) -> [Int64] {
        var found: [Int64] = []
        guard limit > 0 else { return found }
        // Nothing is after the largest value or before the smallest (and `+ 1` there would overflow).
        if after == .max || before == .min { return found }
        let low = after.map { $0 + 1 } ?? .min
        let high = before.map { $0 - 1 } ?? .max
        guard low <= high else { return found }
        let lowKey = low >> Self.shift
        let highKey = high >> Self.shift
        let start = Self.firstIndex(in: keys, notBelow: lowKey)
        let end = Self.firstIndex(in: keys, notBelow: highKey == .max ? .max : highKey + 1)
        guard start < end else { return found }
        let order: [Int] = descending ? Array((start..<end).reversed()) : Array(start..<end)
        for position in order {
            let bucket = buckets[keys[position]]!
            let from = Self.firstIndex(in: bucket, notBelow: low)
            let to = high == .max ? bucket.count : Self.firstIndex(in: bucket, notBelow: high + 1)
            guard from < to else { continue }
            for index in descending ? Array((from..<to).reversed()) : Array(from..<to) where include(bucket[index]) {
                found.append(bucket[index])
                if found.count == limit { return found }
            }
        }
        return found
    }

    /// The first index whose element is not below `value` (binary search).
    private static func firstIndex(in sorted: [Int64], notBelow value: Int64) -> Int {
        var low = 0
        var high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
