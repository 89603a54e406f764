import Testing

@testable import AllotCore

/// The indexes against a plain reference: random updates, then every visit order compared.
struct CandidateIndexTests {
    @Test(arguments: [CandidateOrder.lowestID, .ascendingFree, .descendingFree])
    func visitsMatchAReference(order: CandidateOrder) {
        var random = SplitMix64(seed: 42)
        var index = CandidateIndex(order: order)
        var reference: [Int: Int64] = [:]
        for step in 0..<20_000 {
            let slot = Int(random.next() % 1500)
            if random.next() % 5 == 0 {
                index.set(slot, nil)
                reference[slot] = nil
            } else {
                let value = Int64(random.next() % 100)
                index.set(slot, value)
                reference[slot] = value
            }
            if step % 997 == 0 {
                let demand = Int64(random.next() % 100)
                var visited: [Int] = []
                index.visit(atLeast: demand) {
                    visited.append($0)
                    return true
                }
                let eligible = reference.filter { $0.value >= demand }
                let expected: [Int]
                switch order {
                case .lowestID: expected = eligible.keys.sorted()
                case .ascendingFree: expected = eligible.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map(\.key)
                case .descendingFree: expected = eligible.sorted { ($0.value, -$0.key) > ($1.value, -$1.key) }.map(\.key)
                }
                #expect(visited == expected)
            }
        }
    }

    @Test func visitStopsWhenAsked() {
        var index = CandidateIndex(order: .ascendingFree)
        for slot in 0..<10 { index.set(slot, Int64(slot)) }
        var seen: [Int] = []
        let completed = index.visit(atLeast: 3) {
            seen.append($0)
            return seen.count < 2
        }
        #expect(seen == [3, 4])
        #expect(!completed)
    }

    @Test func combinationsAreComplete() {
        var all: [[Int]] = []
        forEachCombination(of: 5, size: 3) {
            all.append($0)
            return true
        }
        #expect(all.count == 10)
        #expect(all.first == [0, 1, 2])
        #expect(all.last == [2, 3, 4])
    }

    @Test func waterFillIsMaxMinFair() {
        #expect(ElasticShare.waterFill(900, claims: [100, 500, 500]) == [100, 400, 400])
        #expect(ElasticShare.waterFill(0, claims: [100, 200]) == [0, 0])
        #expect(ElasticShare.waterFill(1000, claims: [100, 200]) == [100, 200])
    }
}
