import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import ReplylineServer

/// The request deadline on a channel with virtual time: the clock runs from the connection
/// opening or the previous response until a request is read whole, never while answering.
@Suite("Request deadline")
struct RequestDeadlineTests {
    let loop = EmbeddedEventLoop()

    func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: RequestDeadlineHandler(timeout: .seconds(2)), loop: loop)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        return channel
    }

    func read(_ parts: HTTPRequestPart..., on channel: EmbeddedChannel) throws {
        for part in parts { try channel.writeInbound(part) }
    }

    func answer(_ channel: EmbeddedChannel) throws {
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
    }

    /// Open until 1 ms before `time` from now, closed at `time`.
    func expectClosed(_ channel: EmbeddedChannel, after time: TimeAmount, sourceLocation: SourceLocation = #_sourceLocation) {
        loop.advanceTime(by: time - .milliseconds(1))
        #expect(channel.isActive, "closed early", sourceLocation: sourceLocation)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive, "still open at the deadline", sourceLocation: sourceLocation)
    }

    static let head = HTTPRequestPart.head(HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/webhooks/twilio/messages"))

    @Test("A connection that sends nothing is closed at the timeout, not before")
    func silent() throws {
        let channel = try connection()
        expectClosed(channel, after: .seconds(2))
    }

    @Test("A request trickled past the timeout is cut off, head read or not")
    func trickle() throws {
        let channel = try connection()
        loop.advanceTime(by: .seconds(1))
        try read(Self.head, .body(ByteBuffer(string: "From=%2B1")), on: channel)
        expectClosed(channel, after: .seconds(1))
    }

    @Test("Answering takes as long as it takes; the next request gets the full timeout from the response")
    func keepAlive() throws {
        let channel = try connection()
        for _ in 0..<3 {
            loop.advanceTime(by: .milliseconds(1_500))
            try read(Self.head, .end(nil), on: channel)
            // Longer than the timeout, while the request is being answered: not counted.
            loop.advanceTime(by: .seconds(5))
            #expect(channel.isActive)
            try answer(channel)
        }
        expectClosed(channel, after: .seconds(2))
    }

    @Test("A quick answer gives the next request the full timeout from that answer")
    func quickAnswers() throws {
        let channel = try connection()
        for _ in 0..<4 {
            loop.advanceTime(by: .milliseconds(1_500))
            try read(Self.head, .end(nil), on: channel)
            try answer(channel)
        }
        // 6 s in, three timeouts after the connection opened: each answer moved the deadline.
        expectClosed(channel, after: .seconds(2))
    }

    @Test("Pipelined requests: the clock starts again only when the last one is answered")
    func pipelined() throws {
        let channel = try connection()
        try read(Self.head, .end(nil), Self.head, .end(nil), on: channel)
        try answer(channel)
        loop.advanceTime(by: .seconds(3))
        #expect(channel.isActive)
        try answer(channel)
        expectClosed(channel, after: .seconds(2))
    }
}
