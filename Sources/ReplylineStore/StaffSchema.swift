/// The tables of migration v10, the same on both stores but for their date and generated-id
/// types: staff accounts, their sessions, sign-in failures, and the partial indexes that
/// make the inbox's counts cheap.
public enum StaffSchema {
    public static func statements(date: String, generatedID: String) -> [String] {
        [
            """
            CREATE TABLE staff (
                id TEXT PRIMARY KEY,
                business_id TEXT NOT NULL,
                email TEXT NOT NULL UNIQUE,
                password_hash TEXT NOT NULL,
                created_at \(date) NOT NULL
            )
            """,
            "CREATE INDEX staff_by_business ON staff (business_id, email)",
            """
            CREATE TABLE staff_sessions (
                token_hash TEXT PRIMARY KEY,
                staff_id TEXT NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
                csrf_token TEXT NOT NULL,
                created_at \(date) NOT NULL,
                last_seen_at \(date) NOT NULL
            )
            """,
            "CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id)",
            "CREATE TABLE sign_in_failures (id \(generatedID), key TEXT NOT NULL, at \(date) NOT NULL)",
            "CREATE INDEX sign_in_failures_by_key ON sign_in_failures (key, at)",
            // Covering: the unread total is summed from the index alone.
            "CREATE INDEX conversations_unread ON conversations (business_id, unread_count) WHERE unread_count > 0",
            "CREATE INDEX conversations_needing_reply ON conversations (business_id) WHERE needs_reply",
        ]
    }

    public static func sql(date: String, generatedID: String) -> String {
        statements(date: date, generatedID: generatedID).joined(separator: ";\n")
    }
}
