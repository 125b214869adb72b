import Foundation
import LibFuzzerDriver

/// Hands the process to libFuzzer. Each target calls it from the function it exports as
/// `<Target>_main`, the name SwiftPM aliases `main` to when it links an executable on Linux.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    replyline_fuzz_main(argc, argv)
}

/// Stops the process with `message` when an invariant does not hold, so that libFuzzer
/// records the input that broke it. Unlike `assert`, it is checked in every configuration.
public func require(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() { fatalError("invariant failed: \(message())", file: file, line: line) }
}

/// The input split at each `separator` byte into at most `maxParts` parts; the last part
/// keeps any further separators.
public func split(_ bytes: UnsafeBufferPointer<UInt8>, separator: UInt8, maxParts: Int) -> [ArraySlice<UInt8>] {
    Array(bytes).split(separator: separator, maxSplits: maxParts - 1, omittingEmptySubsequences: false)
}

/// The same text, byte for byte: `==` on `String` compares canonical equivalents as
/// equal, which would hide a decoder that changes the bytes it was given.
public func sameBytes(_ lhs: some StringProtocol, _ rhs: some StringProtocol) -> Bool {
    lhs.utf8.elementsEqual(rhs.utf8)
}

/// The root of the Replyline checkout these targets were built from.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
