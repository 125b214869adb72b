import HummingbirdBcrypt
import NIOPosix

/// Staff passwords: bcrypt hashes (hummingbird-auth's), checked on NIO's thread pool so a
/// sign-in never holds an event loop for the quarter second a hash takes.
public enum StaffPasswords {
    /// 2^12 rounds: about a quarter of a second here, OWASP's floor for bcrypt is 10.
    public static let cost: UInt8 = 12

    /// Why `password` cannot be a staff password, or nil when it can.
    public static func problem(with password: String) -> String? {
        if password.count < 10 { return "the password must have at least 10 characters" }
        // bcrypt reads only the first 72 bytes; a longer password would be silently cut.
        if password.utf8.count > 72 { return "the password must be at most 72 bytes long (bcrypt reads no more)" }
        return nil
    }

    public static func hash(_ password: String, cost: UInt8 = cost) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Whether `password` matches `hash`. With no hash (no such account) a stand-in hash is
    /// checked anyway, so the answer takes as long whether or not the account exists.
    public static func verify(_ password: String, hash: String?) async throws -> Bool {
        let matches = try await NIOThreadPool.singleton.runIfActive {
            Bcrypt.verify(password, hash: hash ?? standIn)
        }
        return hash != nil && matches
    }

    /// The hash of a random password no one knows, made once at the standard cost.
    private static let standIn = Bcrypt.hash("stand-in for an account that does not exist", cost: cost)
}
