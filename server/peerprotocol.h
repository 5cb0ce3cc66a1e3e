#pragma once
// The peer-link grammar as pure functions: no sockets, no node, fuzzable.
//
// A neighbour that dials in says HERD-HELLO, the acceptor answers HERD-WELCOME with its nonce and
// proof, the dialer proves itself with HERD-AUTH and the acceptor confirms with HERD-OK. On the
// live link: HERD-HB <seq> <store epoch> <store seq> (or just <seq>), answered by HERD-ACK <seq>;
// HERD-SYNC <epoch> <seq> asks for every change after that point; AT lines carry the updates.
// The parsers check the shape (keyword, arity, numbers); what a field must equal (our name, a
// neighbour) is the caller's business.
#include "protocol.h"

#include <QByteArray>
#include <QByteArrayView>
#include <optional>

namespace herd::peer {

// Where a node's store stands: its epoch (a new one per start without a journal) and its change
// counter.
struct StorePosition {
    quint64 epoch = 0;
    quint64 seq = 0;
    bool operator==(const StorePosition &) const = default;
};

// HERD-HELLO <dialer> <acceptor> <nonce>
struct Hello {
    QByteArrayView dialer;
    QByteArrayView acceptor;
    QByteArrayView nonce;
};
// HERD-WELCOME <acceptor> <nonce> <proof>
struct Welcome {
    QByteArrayView acceptor;
    QByteArrayView nonce;
    QByteArrayView proof;
};
// HERD-AUTH <proof>; a HERD-AUTH line of another arity is still one (the handshake refuses it).
struct Auth {
    QByteArrayView proof;
    bool wellFormed = false;
};
// HERD-HB <seq> [<store epoch> <store seq>]. The ack echoes `seqText` as it came.
struct Heartbeat {
    quint64 seq = 0;
    QByteArrayView seqText;
    std::optional<StorePosition> store;   // absent when not sent, or not two numbers
};

// Views point into the line passed in; `line` excludes its terminator.
std::optional<Hello> parseHello(QByteArrayView line) noexcept;
std::optional<Welcome> parseWelcome(QByteArrayView line) noexcept;
std::optional<Auth> parseAuth(QByteArrayView line) noexcept;    // nullopt: not HERD-AUTH at all
bool isOk(QByteArrayView line) noexcept;                         // exactly "HERD-OK"
std::optional<Heartbeat> parseHeartbeat(QByteArrayView line) noexcept;
std::optional<quint64> parseAck(QByteArrayView line) noexcept;
std::optional<StorePosition> parseSync(QByteArrayView line) noexcept;

bool isNonce(QByteArrayView text) noexcept;   // 32 lower-case hex digits

QByteArray formatHello(QByteArrayView dialer, QByteArrayView acceptor, QByteArrayView nonce);
QByteArray formatWelcome(QByteArrayView acceptor, QByteArrayView nonce, QByteArrayView proof);
QByteArray formatAuth(QByteArrayView proof);
QByteArray formatOk();
QByteArray formatHeartbeat(quint64 seq, StorePosition store);
QByteArray formatAck(QByteArrayView seqText);
QByteArray formatSync(StorePosition since);

// The handshake proof: HMAC-SHA256 over the role ("welcome" or "auth"), both names and both
// nonces, in hex; "-" without a secret. Role-tagged so one side's proof is never the other's.
QByteArray proof(QByteArrayView secret, QByteArrayView role, QByteArrayView dialer, QByteArrayView acceptor,
                 QByteArrayView dialerNonce, QByteArrayView acceptorNonce);
bool proofMatches(QByteArrayView expected, QByteArrayView received) noexcept;   // constant time

// An AT line as nodes send it: its six fields joined by single spaces. `at` is `line` parsed.
bool isCanonicalAt(QByteArrayView line, const protocol::Message &at) noexcept;
// The canonical form of a parsed AT line into `out` (replacing its contents).
void formatCanonicalAt(QByteArray &out, const protocol::Message &at);

} // namespace herd::peer
