// libFuzzer target over the client protocol's framing and parsing (docs/PROTOCOL.md): the bytes
// go through LineFramer whole, in chunks cut at points derived from the input, and with a small
// limit, each checked against a plain reference framing; then every line goes through protocol::parse and the field parsers,
// each checked against a plain reference grammar, and every valid IAMAT makes the round trip
// through formatAt and back. Every line also goes through the peer grammar (peerprotocol.h):
// each parser against the grammar written out, formatters and parsers round trip, and AT lines
// against their canonical form. Any mismatch aborts, which libFuzzer reports as a crash.
#include "framing.h"
#include "peerprotocol.h"
#include "protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

using herd::LineFramer;
namespace protocol = herd::protocol;

namespace {

[[noreturn]] void fail(const char *what, QByteArrayView bytes = {})
{
    std::fprintf(stderr, "invariant broken: %s [%s]\n", what,
                 protocol::escaped(bytes, 300).constData());
    std::abort();
}

#define CHECK(cond, bytes) \
    do { \
        if (!(cond)) \
            fail(#cond, bytes); \
    } while (0)

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool inside(QByteArrayView view, QByteArrayView whole)
{
    return view.isEmpty()
        || (view.data() >= whole.data() && view.data() + view.size() <= whole.data() + whole.size());
}

// ---- framing: the reference --------------------------------------------------------------

struct Event {
    LineFramer::Event kind;
    std::string bytes;   // Line/FinalLine: the line; Overlong: the whole offending raw bytes
};

// The framing rules of docs/PROTOCOL.md written the obvious way over the whole input.
std::vector<Event> referenceFraming(QByteArrayView in, int max, bool eof)
{
    std::vector<Event> out;
    qsizetype pos = 0;
    for (;;) {
        const qsizetype nl = in.indexOf('\n', pos);
        if (nl < 0)
            break;
        qsizetype len = nl - pos;
        const std::string raw(in.data() + pos, size_t(len));
        if (len > 0 && in[pos + len - 1] == '\r')
            --len;
        if (len > max) {
            out.push_back({LineFramer::Event::Overlong, raw});
            return out;
        }
        out.push_back({LineFramer::Event::Line, std::string(in.data() + pos, size_t(len))});
        pos = nl + 1;
    }
    const std::string tail(in.data() + pos, size_t(in.size() - pos));
    if (qsizetype(tail.size()) > qsizetype(max) + 1 || (eof && qsizetype(tail.size()) > max))
        out.push_back({LineFramer::Event::Overlong, tail});
    else if (eof && !tail.empty())
        out.push_back({LineFramer::Event::FinalLine, tail});
    return out;
}

// Feeds `in` cut at `cuts` (sorted offsets); by append() or straight into prepareWrite().
std::vector<Event> runFramer(QByteArrayView in, int max, const std::vector<qsizetype> &cuts,
                             bool direct, bool eof)
{
    std::vector<Event> out;
    LineFramer f(max);
    auto record = [&](const LineFramer::Result &r) {
        if (r.event == LineFramer::Event::Overlong) {
            CHECK(r.bytes.size() <= LineFramer::kOverlongHead, r.bytes);
            CHECK(r.bytes.size() >= std::min<qsizetype>(LineFramer::kOverlongHead, qsizetype(max) + 1), r.bytes);
            CHECK(f.isOverlong(), r.bytes);
        } else {
            CHECK(r.bytes.size() <= max, r.bytes);
            CHECK(!r.bytes.contains('\n'), r.bytes);
        }
        out.push_back({r.event, std::string(r.bytes.data(), size_t(r.bytes.size()))});
    };
    qsizetype pos = 0;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        const qsizetype end = i < cuts.size() ? cuts[i] : in.size();
        const QByteArrayView chunk = in.sliced(pos, end - pos);
        pos = end;
        if (direct) {
            // Ask for more room than arrives, as recv() does.
            char *p = f.prepareWrite(chunk.size() + 7);
            if (!chunk.isEmpty())
                std::memcpy(p, chunk.data(), size_t(chunk.size()));
            f.commitWrite(chunk.size());
        } else {
            f.append(chunk);
        }
        for (;;) {
            const LineFramer::Result r = f.next();
            if (r.event == LineFramer::Event::NeedMore)
                break;
            CHECK(r.event != LineFramer::Event::FinalLine, r.bytes);
            record(r);
        }
        // Memory stays bounded: no more than a line's worth waits for its end.
        CHECK(f.isOverlong() || f.buffered() <= qsizetype(max) + 1, chunk);
    }
    if (eof) {
        for (;;) {
            const LineFramer::Result r = f.finish();
            if (r.event == LineFramer::Event::NeedMore)
                break;
            record(r);
        }
        CHECK(f.isOverlong() || f.buffered() == 0, in);
    }
    return out;
}

void checkFraming(QByteArrayView in, int max, const std::vector<qsizetype> &cuts, bool direct, bool eof)
{
    const std::vector<Event> want = referenceFraming(in, max, eof);
    const std::vector<Event> got = runFramer(in, max, cuts, direct, eof);
    CHECK(got.size() == want.size(), in);
    for (size_t i = 0; i < got.size(); ++i) {
        CHECK(got[i].kind == want[i].kind, in);
        if (got[i].kind == LineFramer::Event::Overlong)   // a head of the offending bytes
            CHECK(want[i].bytes.compare(0, got[i].bytes.size(), got[i].bytes) == 0, in);
        else
            CHECK(got[i].bytes == want[i].bytes, in);
    }
}

// ---- parsing: the reference grammars ------------------------------------------------------

// digits{1,18} [. digits{1,9}]
std::optional<protocol::Timestamp> referenceTime(QByteArrayView s)
{
    qsizetype i = 0;
    while (i < s.size() && isDigit(s[i]))
        ++i;
    if (i < 1 || i > 18)
        return std::nullopt;
    protocol::Timestamp t;
    for (qsizetype k = 0; k < i; ++k)
        t.sec = t.sec * 10 + (s[k] - '0');
    if (i == s.size())
        return t;
    if (s[i] != '.')
        return std::nullopt;
    const qsizetype fracStart = i + 1;
    qsizetype j = fracStart;
    while (j < s.size() && isDigit(s[j]))
        ++j;
    const qsizetype digits = j - fracStart;
    if (j != s.size() || digits < 1 || digits > 9)
        return std::nullopt;
    for (qsizetype k = 0; k < 9; ++k)
        t.nsec = t.nsec * 10 + (k < digits ? s[fracStart + k] - '0' : 0);
    return t;
}

// [+-] digits{1,3} [. digits{1,15}], |value| <= limit exactly. Returns the length matched (0:
// none) and the value through *value.
qsizetype referenceCoordinate(QByteArrayView s, qsizetype pos, int limit, double *value)
{
    const qsizetype start = pos;
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-'))
        return 0;
    ++pos;
    const qsizetype intStart = pos;
    while (pos < s.size() && isDigit(s[pos]))
        ++pos;
    const qsizetype intDigits = pos - intStart;
    if (intDigits < 1 || intDigits > 3)
        return 0;
    int ip = 0;
    for (qsizetype k = intStart; k < pos; ++k)
        ip = ip * 10 + (s[k] - '0');
    bool fracNonZero = false;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        const qsizetype fracStart = pos;
        while (pos < s.size() && isDigit(s[pos])) {
            fracNonZero = fracNonZero || s[pos] != '0';
            ++pos;
        }
        if (pos - fracStart < 1 || pos - fracStart > 15)
            return 0;
    }
    if (ip > limit || (ip == limit && fracNonZero))
        return 0;
    *value = std::strtod(std::string(s.data() + start, size_t(pos - start)).c_str(), nullptr);
    return pos - start;
}

std::optional<protocol::Location> referenceLocation(QByteArrayView s)
{
    protocol::Location loc;
    const qsizetype a = referenceCoordinate(s, 0, 90, &loc.lat);
    if (a == 0)
        return std::nullopt;
    const qsizetype b = referenceCoordinate(s, a, 180, &loc.lng);
    if (b == 0 || a + b != s.size())
        return std::nullopt;
    return loc;
}

// digits{0,12} [. digits{1,30}], some digit, 0 < value <= 50 exactly.
bool referenceRadiusOk(QByteArrayView s)
{
    qsizetype i = 0;
    while (i < s.size() && isDigit(s[i]))
        ++i;
    const qsizetype intDigits = i;
    if (intDigits > 12)
        return false;
    long long whole = 0;
    for (qsizetype k = 0; k < i; ++k)
        whole = whole * 10 + (s[k] - '0');
    bool fracNonZero = false;
    if (i < s.size() && s[i] == '.') {
        const qsizetype fracStart = ++i;
        while (i < s.size() && isDigit(s[i])) {
            fracNonZero = fracNonZero || s[i] != '0';
            ++i;
        }
        if (i - fracStart < 1 || i - fracStart > 30)
            return false;
    }
    if (i != s.size() || s.isEmpty())
        return false;
    if (whole == 0 && !fracNonZero)
        return false;
    return whole < 50 || (whole == 50 && !fracNonZero);
}

bool referenceBoundOk(QByteArrayView s)
{
    if (s.isEmpty() || s.size() > 4 || !std::all_of(s.begin(), s.end(), isDigit))
        return false;
    int v = 0;
    for (char c : s)
        v = v * 10 + (c - '0');
    return v >= 1 && v <= 20;
}

// [+-] digits+ . digits{9}
bool referenceSkew(QByteArrayView s)
{
    if (s.size() < 12 || (s[0] != '+' && s[0] != '-') || s[s.size() - 10] != '.')
        return false;
    for (qsizetype i = 1; i < s.size(); ++i) {
        if (i != s.size() - 10 && !isDigit(s[i]))
            return false;
    }
    return true;
}

QByteArray unescape(QByteArrayView s)
{
    QByteArray out;
    for (qsizetype i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out.append(s[i]);
            continue;
        }
        CHECK(i + 1 < s.size(), s);
        const char c = s[++i];
        if (c == 'n')
            out.append('\n');
        else if (c == 'r')
            out.append('\r');
        else if (c == 't')
            out.append('\t');
        else if (c == '\\')
            out.append('\\');
        else if (c == 'x') {
            CHECK(i + 2 < s.size(), s);
            auto nibble = [&](char x) {
                if (x >= '0' && x <= '9')
                    return x - '0';
                if (x >= 'a' && x <= 'f')
                    return x - 'a' + 10;
                fail("bad hex escape", s);
            };
            out.append(char(nibble(s[i + 1]) * 16 + nibble(s[i + 2])));
            i += 2;
        } else {
            fail("unknown escape", s);
        }
    }
    return out;
}

qsizetype escapedSize(char c)
{
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\r' || c == '\t' || c == '\\')
        return 2;
    return u < 0x20 || u >= 0x7f ? 4 : 1;
}

void checkEscaped(QByteArrayView line, qsizetype maxBytes)
{
    const QByteArray e = protocol::escaped(line, maxBytes);
    for (char c : e) {
        const auto u = static_cast<unsigned char>(c);
        CHECK(u >= 0x20 && u < 0x7f, e);
    }
    // Where it must stop: before the first byte met once the output has reached maxBytes.
    qsizetype len = 0;
    qsizetype i = 0;
    for (; i < line.size() && len < maxBytes; ++i)
        len += escapedSize(line[i]);
    if (i == line.size()) {
        CHECK(e.size() == len && unescape(e) == line, line);
    } else {
        const QByteArray note = "...(" + QByteArray::number(line.size()) + " bytes)";
        CHECK(e.size() == len + note.size() && e.endsWith(note), e);
        CHECK(unescape(e.first(len)) == line.first(i), e);
        CHECK(len <= maxBytes + 3, e);
    }
}

// Exactly received - client, in nanoseconds, as formatSkew printed it.
void checkSkew(QByteArrayView skew, protocol::Timestamp received, protocol::Timestamp client)
{
    CHECK(referenceSkew(skew), skew);
    const __int128 want = (__int128(received.sec) - client.sec) * 1'000'000'000 + (received.nsec - client.nsec);
    __int128 got = 0;
    for (qsizetype i = 1; i < skew.size(); ++i) {
        if (skew[i] != '.')
            got = got * 10 + (skew[i] - '0');
    }
    if (skew[0] == '-') {
        CHECK(got != 0, skew);   // zero is "+0.000000000"
        got = -got;
    }
    CHECK(got == want, skew);
}

void checkFields(QByteArrayView line)
{
    // Count by hand, then compare with splitFields at every `max`.
    int count = 0;
    for (qsizetype i = 0; i < line.size();) {
        while (i < line.size() && protocol::isSpace(line[i]))
            ++i;
        if (i == line.size())
            break;
        ++count;
        while (i < line.size() && !protocol::isSpace(line[i]))
            ++i;
    }
    QByteArrayView fields[8];
    CHECK(protocol::splitFields(line, fields, 8) == count, line);
    CHECK(protocol::splitFields(line, fields, 0) == count, line);
    for (int i = 0; i < std::min(count, 8); ++i) {
        CHECK(!fields[i].isEmpty() && inside(fields[i], line), line);
        CHECK(std::none_of(fields[i].begin(), fields[i].end(), protocol::isSpace), line);
        if (i > 0)
            CHECK(fields[i].data() > fields[i - 1].data() + fields[i - 1].size(), line);
    }
}

void checkFieldParsers(QByteArrayView s)
{
    const auto t = protocol::parseTime(s);
    const auto rt = referenceTime(s);
    CHECK(t.has_value() == rt.has_value(), s);
    if (t) {
        CHECK(*t == *rt, s);
        CHECK(t->sec >= 0 && t->nsec >= 0 && t->nsec < 1'000'000'000, s);
    }
    const auto loc = protocol::parseLocation(s);
    const auto rloc = referenceLocation(s);
    CHECK(loc.has_value() == rloc.has_value(), s);
    if (loc) {
        CHECK(loc->lat >= -90 && loc->lat <= 90 && loc->lng >= -180 && loc->lng <= 180, s);
        CHECK(std::abs(loc->lat - rloc->lat) <= 1e-9 && std::abs(loc->lng - rloc->lng) <= 1e-9, s);
    }
    const auto radius = protocol::parseRadiusKm(s);
    CHECK(radius.has_value() == referenceRadiusOk(s), s);
    if (radius)
        CHECK(*radius > 0 && *radius <= 50, s);
    const auto bound = protocol::parseBound(s);
    CHECK(bound.has_value() == referenceBoundOk(s), s);
    if (bound)
        CHECK(*bound >= 1 && *bound <= 20, s);
    CHECK(protocol::isSkew(s) == referenceSkew(s), s);
}

void checkParse(QByteArrayView line, protocol::Timestamp received, QByteArrayView node)
{
    checkFields(line);
    const protocol::Message m = protocol::parse(line);
    QByteArrayView f[6];
    const int n = protocol::splitFields(line, f, 6);
    CHECK(m.fieldCount == n, line);
    for (int i = 0; i < std::min(n, 6); ++i)
        CHECK(m.fields[i].data() == f[i].data() && m.fields[i].size() == f[i].size(), line);
    for (QByteArrayView v : {m.client, m.location, m.time, m.origin, m.skew})
        CHECK(inside(v, line), line);
    for (int i = 1; i < std::min(n, 6); ++i)
        checkFieldParsers(f[i]);

    const bool iamatOk = n == 4 && f[0] == "IAMAT" && protocol::parseLocation(f[2]) && protocol::parseTime(f[3]);
    const bool whatsatOk = n == 4 && f[0] == "WHATSAT" && protocol::parseRadiusKm(f[2]) && protocol::parseBound(f[3]);
    const bool atOk = n == 6 && f[0] == "AT" && protocol::isSkew(f[2]) && protocol::parseLocation(f[4])
        && protocol::parseTime(f[5]);
    CHECK((m.kind == protocol::Kind::Blank) == (n == 0), line);
    CHECK((m.kind == protocol::Kind::Iamat) == iamatOk, line);
    CHECK((m.kind == protocol::Kind::Whatsat) == whatsatOk, line);
    CHECK((m.kind == protocol::Kind::At) == atOk, line);
    CHECK((m.kind == protocol::Kind::Peer) == (n > 0 && f[0].startsWith("HERD-")), line);

    if (m.kind == protocol::Kind::Iamat) {
        CHECK(m.client.data() == f[1].data() && m.location.data() == f[2].data() && m.time.data() == f[3].data(), line);
        CHECK(m.timestamp == *protocol::parseTime(m.time), line);
        // formatAt and back: the same client, location and time, byte for byte, and the skew
        // exactly received - client.
        const QByteArray at = protocol::formatAt(node, received, m);
        // A peer link's line limit leaves room for this: name plus the longest skew (30).
        CHECK(at.size() <= line.size() + node.size() + 30, at);
        const protocol::Message back = protocol::parse(at);
        CHECK(back.kind == protocol::Kind::At, at);
        CHECK(back.origin == node, at);
        CHECK(back.client == m.client && back.location == m.location && back.time == m.time, at);
        CHECK(back.timestamp == m.timestamp, at);
        CHECK(back.position.lat == m.position.lat && back.position.lng == m.position.lng, at);
        checkSkew(back.skew, received, m.timestamp);
    } else if (m.kind == protocol::Kind::Whatsat) {
        CHECK(m.client.data() == f[1].data() && m.radiusKm > 0 && m.radiusKm <= 50, line);
        CHECK(m.bound >= 1 && m.bound <= 20, line);
    } else if (m.kind == protocol::Kind::At) {
        CHECK(m.origin.data() == f[1].data() && m.skew.data() == f[2].data() && m.client.data() == f[3].data(), line);
    }
}

// ---- the peer grammar ---------------------------------------------------------------------

// A decimal quint64: digits only, no overflow. nullopt also for what the reference leaves open
// (a leading '+', which the number parser may take or not): `decided` is false then.
std::optional<quint64> referenceNumber(QByteArrayView s, bool *decided)
{
    *decided = !s.startsWith('+');
    if (s.isEmpty() || !std::all_of(s.begin(), s.end(), isDigit))
        return std::nullopt;
    quint64 v = 0;
    for (char c : s) {
        const quint64 d = quint64(c - '0');
        if (v > (~quint64(0) - d) / 10)
            return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

bool sameView(QByteArrayView a, QByteArrayView b)
{
    return a.data() == b.data() && a.size() == b.size();
}

void checkPeer(QByteArrayView line)
{
    QByteArrayView f[8];
    const int n = protocol::splitFields(line, f, 8);
    const QByteArrayView cmd = n > 0 ? f[0] : QByteArrayView();

    // Each parser against the grammar written out, and every view inside the line.
    const auto hello = herd::peer::parseHello(line);
    CHECK(hello.has_value() == (n == 4 && cmd == "HERD-HELLO"), line);
    if (hello) {
        CHECK(sameView(hello->dialer, f[1]) && sameView(hello->acceptor, f[2]) && sameView(hello->nonce, f[3]), line);
        CHECK(herd::peer::parseHello(herd::peer::formatHello(hello->dialer, hello->acceptor, hello->nonce)).has_value(), line);
    }
    const auto welcome = herd::peer::parseWelcome(line);
    CHECK(welcome.has_value() == (n == 4 && cmd == "HERD-WELCOME"), line);
    if (welcome) {
        CHECK(sameView(welcome->acceptor, f[1]) && sameView(welcome->nonce, f[2]) && sameView(welcome->proof, f[3]), line);
        const QByteArray again = herd::peer::formatWelcome(welcome->acceptor, welcome->nonce, welcome->proof);
        const auto back = herd::peer::parseWelcome(again);
        CHECK(back && back->acceptor == welcome->acceptor && back->nonce == welcome->nonce
                  && back->proof == welcome->proof, again);
    }
    const auto auth = herd::peer::parseAuth(line);
    CHECK(auth.has_value() == (n > 0 && cmd == "HERD-AUTH"), line);
    if (auth) {
        CHECK(auth->wellFormed == (n == 2), line);
        if (auth->wellFormed) {
            CHECK(sameView(auth->proof, f[1]), line);
            const QByteArray formatted = herd::peer::formatAuth(auth->proof);   // the views point into it
            const auto back = herd::peer::parseAuth(formatted);
            CHECK(back && back->wellFormed && back->proof == auth->proof, line);
        }
    }
    CHECK(herd::peer::isOk(line) == (n == 1 && cmd == "HERD-OK"), line);

    bool decided1 = true;
    bool decided2 = true;
    bool decided3 = true;
    const auto n1 = n > 1 ? referenceNumber(f[1], &decided1) : std::nullopt;
    const auto n2 = n > 2 ? referenceNumber(f[2], &decided2) : std::nullopt;
    const auto n3 = n > 3 ? referenceNumber(f[3], &decided3) : std::nullopt;

    const auto hb = herd::peer::parseHeartbeat(line);
    const bool hbShape = (n == 2 || n == 4) && cmd == "HERD-HB";
    if (!hbShape)
        CHECK(!hb, line);
    else if (decided1)
        CHECK(hb.has_value() == n1.has_value(), line);
    if (hb) {
        CHECK(sameView(hb->seqText, f[1]), line);
        if (n1)
            CHECK(hb->seq == *n1, line);
        if (n == 2)
            CHECK(!hb->store, line);
        if (n == 4 && decided2 && decided3)
            CHECK(hb->store.has_value() == (n2 && n3), line);
        if (hb->store && n2 && n3)
            CHECK(hb->store->epoch == *n2 && hb->store->seq == *n3, line);
        const QByteArray formattedHb = herd::peer::formatHeartbeat(hb->seq, {1, 2});
        const auto back = herd::peer::parseHeartbeat(formattedHb);
        CHECK(back && back->seq == hb->seq && back->store && back->store->epoch == 1 && back->store->seq == 2, line);
        const auto ack = herd::peer::parseAck(herd::peer::formatAck(hb->seqText));
        CHECK(ack && *ack == hb->seq, line);
    }
    const auto ack = herd::peer::parseAck(line);
    if (!(n == 2 && cmd == "HERD-ACK"))
        CHECK(!ack, line);
    else if (decided1)
        CHECK(ack.has_value() == n1.has_value() && (!ack || *ack == *n1), line);
    const auto sync = herd::peer::parseSync(line);
    if (!(n == 3 && cmd == "HERD-SYNC"))
        CHECK(!sync, line);
    else if (decided1 && decided2)
        CHECK(sync.has_value() == (n1 && n2) && (!sync || (sync->epoch == *n1 && sync->seq == *n2)), line);
    if (sync) {
        const auto back = herd::peer::parseSync(herd::peer::formatSync(*sync));
        CHECK(back && *back == *sync, line);
    }

    // An AT line: canonical exactly when it is its fields joined by single spaces, and the
    // canonical form parses back to the same fields.
    const protocol::Message m = protocol::parse(line);
    if (m.kind == protocol::Kind::At) {
        QByteArray joined;
        for (int i = 0; i < n; ++i)
            joined.append(i ? " " : "").append(f[i]);
        CHECK(herd::peer::isCanonicalAt(line, m) == (joined == line), line);
        QByteArray out = "scratch";
        herd::peer::formatCanonicalAt(out, m);
        CHECK(out == joined, out);
        const protocol::Message back = protocol::parse(out);
        CHECK(back.kind == protocol::Kind::At && herd::peer::isCanonicalAt(out, back), out);
        CHECK(back.origin == m.origin && back.skew == m.skew && back.client == m.client
                  && back.location == m.location && back.time == m.time, out);
    }
}

quint64 hash(QByteArrayView in)
{
    quint64 h = 1469598103934665603ULL;   // FNV-1a
    for (char c : in)
        h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return h;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const QByteArrayView in(reinterpret_cast<const char *>(data), qsizetype(size));
    const quint64 h = hash(in);

    // Framing: whole, then cut at three points (partial reads), then a small limit fed in
    // small chunks (overlong paths on small inputs); with and without end of input.
    constexpr int kLimit = 4096;
    checkFraming(in, kLimit, {}, false, true);
    std::vector<qsizetype> cuts;
    for (int i = 0; i < 3; ++i)
        cuts.push_back(qsizetype((h >> (i * 16)) % (size + 1)));
    std::sort(cuts.begin(), cuts.end());
    checkFraming(in, kLimit, cuts, true, (h >> 48) & 1);
    const int small = 1 + int((h >> 50) % 48);
    std::vector<qsizetype> steps;
    const qsizetype step = 1 + qsizetype((h >> 56) % 7);
    for (qsizetype p = step; p < in.size(); p += step)
        steps.push_back(p);
    checkFraming(in, small, steps, (h >> 49) & 1, true);

    // Parsing every line the node would handle, and the whole input as one line.
    const protocol::Timestamp received{qint64(h % 1'000'000'000'000'000'000ULL), qint32((h >> 20) % 1'000'000'000)};
    const QByteArrayView node = (h & 1) ? QByteArrayView("Hill") : QByteArrayView("Singleton-Campbell-99");
    LineFramer f(kLimit);
    f.append(in);
    for (LineFramer::Result r = f.finish(); r.event != LineFramer::Event::NeedMore; r = f.finish()) {
        if (r.event == LineFramer::Event::Overlong)
            break;
        checkParse(r.bytes, received, node);
        checkPeer(r.bytes);
        checkEscaped(r.bytes, 1 + qsizetype(h % 600));
    }
    checkParse(in, received, node);
    checkPeer(in);
    checkEscaped(in, 512);
    return 0;
}
