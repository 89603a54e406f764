import Foundation

/// Records are stored as JSON text beside the columns a database searches; reading one that does not decode is
/// ``StoreError/Code/corrupt``, not a crash.
public enum StoredRecord {
    public static func encode<T: Encodable>(_ value: T) throws(StoreError) -> String {
        do {
            return String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
        } catch {
            throw StoreError(.corrupt, "cannot encode \(T.self): \(error)")
        }
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws(StoreError) -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(text.utf8))
        } catch {
            throw StoreError(.corrupt, "stored \(T.self) cannot be read: \(error)")
        }
    }
}
