#pragma once
// The client/peer line protocol as pure functions: no sockets, no event loop, fuzzable.
#include <QByteArray>
#include <QByteArrayView>
#include <compare>
#include <optional>

namespace herd::protocol {

// POSIX time as integers: a double cannot tell ...503 from ...504 nanoseconds.
struct Timestamp {
    qint64 sec = 0;
    qint32 nsec = 0;   // 0..999'999'999
    auto operator<=>(const Timestamp &) const = default;
};

struct Location {
    double lat = 0;
    double lng = 0;
};

// The protocol's white space between fields: space, tab, CR, FF, VT (LF only ever ends a line).
constexpr bool isSpace(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

// Splits on runs of white space. Writes at most `max` fields and returns how many fields the
// line has in total (which may exceed `max`: the caller then knows the arity is wrong).
int splitFields(QByteArrayView line, QByteArrayView *fields, int max) noexcept;

std::optional<Timestamp> parseTime(QByteArrayView text) noexcept;       // digits[.1-9 digits]
std::optional<Location> parseLocation(QByteArrayView text) noexcept;    // ISO 6709 ±DD.D±DDD.D
std::optional<double> parseRadiusKm(QByteArrayView text) noexcept;      // 0 < r <= 50
std::optional<int> parseBound(QByteArrayView text) noexcept;            // 1..20
bool isSkew(QByteArrayView text) noexcept;                               // [+-]digits.9digits

// Signed seconds with exactly 9 fraction digits: "+0.263873386", "-3599.912000000".
QByteArray formatSkew(Timestamp received, Timestamp client);

Timestamp now() noexcept;   // CLOCK_REALTIME, nanoseconds
qint64 nowUs() noexcept;    // the same, in microseconds since the epoch
qint64 nowMs() noexcept;    // the same, in milliseconds since the epoch

enum class Kind {
    Blank,      // nothing but white space: no reply
    Iamat,
    Whatsat,
    At,         // a flooded update: only valid from an authenticated peer
    Peer,       // HERD-* peer-link control line (handshake, heartbeat, ack)
    Invalid,    // anything else: answered with "? <line>"
};

// One parsed line. Views point into the line passed to parse(); keep it alive.
struct Message {
    Kind kind = Kind::Invalid;
    QByteArrayView fields[6];
    int fieldCount = 0;
    // IAMAT / AT
    QByteArrayView client;
    QByteArrayView location;
    QByteArrayView time;
    Timestamp timestamp;
    Location position;
    // AT
    QByteArrayView origin;
    QByteArrayView skew;
    // WHATSAT
    double radiusKm = 0;
    int bound = 0;
};

// `line` excludes its terminator ("\n" or "\r\n").
Message parse(QByteArrayView line) noexcept;

// The AT line a node stores and floods for an IAMAT it received.
QByteArray formatAt(QByteArrayView node, Timestamp received, const Message &iamat);
// The same into `out` (replacing its contents), reusing its allocation.
void formatAtInto(QByteArray &out, QByteArrayView node, Timestamp received, const Message &iamat);

// Control bytes and non-ASCII shown escaped (\n, \r, \t, \xNN, backslash doubled), for logs.
QByteArray escaped(QByteArrayView bytes, qsizetype maxBytes = 512);
void appendEscaped(QByteArray &out, QByteArrayView bytes, qsizetype maxBytes = 512);   // no temporary
// The same for a text of which only the first bytes are at hand (at least maxBytes of them, or
// all): the output is what appendEscaped() gives for the whole text of `totalBytes` bytes. The
// log keeps only that much of a line until its writer thread escapes it.
void appendEscapedPrefix(QByteArray &out, QByteArrayView prefix, qsizetype totalBytes, qsizetype maxBytes);

} // namespace herd::protocol
