#include "protocol.h"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace herd::protocol {

namespace {

constexpr bool isDigit(char c) noexcept { return c >= '0' && c <= '9'; }

// One ISO 6709 number: [+-] 1-3 digits [. 1-15 digits]. Returns the bytes consumed (0: no
// match); *intPart and *fracNonZero let the caller range-check without rounding.
qsizetype scanCoordinate(QByteArrayView s, qsizetype pos, double *value, int *intPart,
                         bool *fracNonZero) noexcept
{
    const qsizetype start = pos;
    if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-'))
        return 0;
    const bool negative = s[pos] == '-';
    ++pos;
    int ip = 0;
    int digits = 0;
    while (pos < s.size() && isDigit(s[pos]) && digits < 4) {
        ip = ip * 10 + (s[pos] - '0');
        ++pos;
        ++digits;
    }
    if (digits < 1 || digits > 3)
        return 0;
    double frac = 0;
    bool nonZero = false;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        int fd = 0;
        double scale = 0.1;
        while (pos < s.size() && isDigit(s[pos]) && fd < 16) {
            frac += (s[pos] - '0') * scale;
            nonZero = nonZero || s[pos] != '0';
            scale /= 10;
            ++pos;
            ++fd;
        }
        if (fd < 1 || fd > 15)
            return 0;
    }
    *value = negative ? -(ip + frac) : ip + frac;
    *intPart = ip;
    *fracNonZero = nonZero;
    return pos - start;
}

bool inRange(int intPart, bool fracNonZero, int limit) noexcept
{
    return intPart < limit || (intPart == limit && !fracNonZero);
}

} // namespace

int splitFields(QByteArrayView line, QByteArrayView *fields, int max) noexcept
{
    int count = 0;
    const char *p = line.data();
    const char *end = p + line.size();
    while (p < end) {
        while (p < end && isSpace(*p))
            ++p;
        if (p == end)
            break;
        const char *begin = p;
        while (p < end && !isSpace(*p))
            ++p;
        if (count < max)
            fields[count] = QByteArrayView(begin, p - begin);
        ++count;
    }
    return count;
}

std::optional<Timestamp> parseTime(QByteArrayView s) noexcept
{
    // digits[.digits], at most 18 integer digits (fits qint64) and 9 fraction digits.
    qsizetype pos = 0;
    qint64 sec = 0;
    while (pos < s.size() && isDigit(s[pos])) {
        if (pos >= 18)
            return std::nullopt;
        sec = sec * 10 + (s[pos] - '0');
        ++pos;
    }
    if (pos == 0)
        return std::nullopt;
    qint32 nsec = 0;
    if (pos < s.size()) {
        if (s[pos] != '.')
            return std::nullopt;
        ++pos;
        int digits = 0;
        while (pos < s.size() && isDigit(s[pos])) {
            if (++digits > 9)
                return std::nullopt;
            nsec = nsec * 10 + (s[pos] - '0');
            ++pos;
        }
        if (digits == 0 || pos != s.size())
            return std::nullopt;
        for (; digits < 9; ++digits)
            nsec *= 10;
    }
    return Timestamp{sec, nsec};
}

std::optional<Location> parseLocation(QByteArrayView s) noexcept
{
    Location loc;
    int ip = 0;
    bool nz = false;
    const qsizetype a = scanCoordinate(s, 0, &loc.lat, &ip, &nz);
    if (a == 0 || !inRange(ip, nz, 90))
        return std::nullopt;
    const qsizetype b = scanCoordinate(s, a, &loc.lng, &ip, &nz);
    if (b == 0 || a + b != s.size() || !inRange(ip, nz, 180))
        return std::nullopt;
    return loc;
}

std::optional<double> parseRadiusKm(QByteArrayView s) noexcept
{
    // A plain decimal number: digits[.digits] or .digits; no sign, exponent, or hex.
    qsizetype pos = 0;
    int intDigits = 0;
    double value = 0;
    while (pos < s.size() && isDigit(s[pos])) {
        if (++intDigits > 12)
            return std::nullopt;
        value = value * 10 + (s[pos] - '0');
        ++pos;
    }
    const double whole = value;   // exact: at most 12 integer digits
    int fracDigits = 0;
    bool fracNonZero = false;
    if (pos < s.size() && s[pos] == '.') {
        ++pos;
        double scale = 0.1;
        while (pos < s.size() && isDigit(s[pos])) {
            if (++fracDigits > 30)
                return std::nullopt;
            value += (s[pos] - '0') * scale;
            fracNonZero = fracNonZero || s[pos] != '0';
            scale /= 10;
            ++pos;
        }
        if (fracDigits == 0)
            return std::nullopt;
    }
    if (pos != s.size() || intDigits + fracDigits == 0)
        return std::nullopt;
    // Exact bounds on the integer part and the fraction's digits, not on the rounded double:
    // "50.0000000000000001" is over 50 and "49.99999999999999999999" is not, though a double
    // rounds both to 50.
    if (whole == 0 && !fracNonZero)
        return std::nullopt;
    if (whole > 50 || (whole == 50 && fracNonZero))
        return std::nullopt;
    return std::min(value, 50.0);
}

std::optional<int> parseBound(QByteArrayView s) noexcept
{
    if (s.isEmpty() || s.size() > 4)
        return std::nullopt;
    int value = 0;
    for (char c : s) {
        if (!isDigit(c))
            return std::nullopt;
        value = value * 10 + (c - '0');
    }
    if (value < 1 || value > 20)
        return std::nullopt;
    return value;
}

bool isSkew(QByteArrayView s) noexcept
{
    if (s.size() < 12 || (s[0] != '+' && s[0] != '-'))
        return false;
    const qsizetype dot = s.size() - 10;
    if (s[dot] != '.' || dot < 2)
        return false;
    for (qsizetype i = 1; i < s.size(); ++i) {
        if (i != dot && !isDigit(s[i]))
            return false;
    }
    return true;
}

namespace {

// Writes the skew into buf (at least kSkewChars) and returns its length. By hand rather than
// snprintf: it runs once per IAMAT, and the format parser was a visible share of the profile.
constexpr int kSkewChars = 32;   // sign, up to 20 digits, '.', 9 digits
int writeSkew(char *buf, Timestamp received, Timestamp client)
{
    // Seconds and nanoseconds kept apart: 18-digit client seconds times 1e9 would overflow.
    qint64 sec = received.sec - client.sec;
    qint64 nsec = qint64(received.nsec) - client.nsec;
    if (sec > 0 && nsec < 0) {
        --sec;
        nsec += 1'000'000'000;
    } else if (sec < 0 && nsec > 0) {
        ++sec;
        nsec -= 1'000'000'000;
    }
    const bool negative = sec < 0 || nsec < 0;
    auto whole = sec < 0 ? 0ULL - static_cast<unsigned long long>(sec) : static_cast<unsigned long long>(sec);
    auto frac = static_cast<unsigned>(nsec < 0 ? -nsec : nsec);
    char digits[20];
    int n = 0;
    do {
        digits[n++] = char('0' + whole % 10);
        whole /= 10;
    } while (whole != 0);
    int len = 0;
    buf[len++] = negative ? '-' : '+';
    while (n > 0)
        buf[len++] = digits[--n];
    buf[len++] = '.';
    for (int i = 8; i >= 0; --i) {
        buf[len + i] = char('0' + frac % 10);
        frac /= 10;
    }
    return len + 9;
}

} // namespace

QByteArray formatSkew(Timestamp received, Timestamp client)
{
    char buf[kSkewChars];
    return QByteArray(buf, writeSkew(buf, received, client));
}

Timestamp now() noexcept
{
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return Timestamp{ts.tv_sec, static_cast<qint32>(ts.tv_nsec)};
}

qint64 nowUs() noexcept
{
    const Timestamp t = now();
    return t.sec * 1'000'000 + t.nsec / 1000;
}

qint64 nowMs() noexcept
{
    const Timestamp t = now();
    return t.sec * 1000 + t.nsec / 1'000'000;
}

Message parse(QByteArrayView line) noexcept
{
    Message m;
    m.fieldCount = splitFields(line, m.fields, 6);
    if (m.fieldCount == 0) {
        m.kind = Kind::Blank;
        return m;
    }
    const QByteArrayView cmd = m.fields[0];
    m.kind = Kind::Invalid;
    if (cmd == "IAMAT") {
        if (m.fieldCount != 4)
            return m;
        const auto loc = parseLocation(m.fields[2]);
        const auto ts = parseTime(m.fields[3]);
        if (!loc || !ts)
            return m;
        m.client = m.fields[1];
        m.location = m.fields[2];
        m.time = m.fields[3];
        m.position = *loc;
        m.timestamp = *ts;
        m.kind = Kind::Iamat;
    } else if (cmd == "WHATSAT") {
        if (m.fieldCount != 4)
            return m;
        const auto radius = parseRadiusKm(m.fields[2]);
        const auto bound = parseBound(m.fields[3]);
        if (!radius || !bound)
            return m;
        m.client = m.fields[1];
        m.radiusKm = *radius;
        m.bound = *bound;
        m.kind = Kind::Whatsat;
    } else if (cmd == "AT") {
        if (m.fieldCount != 6 || !isSkew(m.fields[2]))
            return m;
        const auto loc = parseLocation(m.fields[4]);
        const auto ts = parseTime(m.fields[5]);
        if (!loc || !ts)
            return m;
        m.origin = m.fields[1];
        m.skew = m.fields[2];
        m.client = m.fields[3];
        m.location = m.fields[4];
        m.time = m.fields[5];
        m.position = *loc;
        m.timestamp = *ts;
        m.kind = Kind::At;
    } else if (cmd.startsWith("HERD-")) {
        m.kind = Kind::Peer;
    }
    return m;
}

QByteArray formatAt(QByteArrayView node, Timestamp received, const Message &iamat)
{
    QByteArray out;
    formatAtInto(out, node, received, iamat);
    return out;
}

void formatAtInto(QByteArray &out, QByteArrayView node, Timestamp received, const Message &iamat)
{
    char skew[kSkewChars];
    const int skewLen = writeSkew(skew, received, iamat.timestamp);
    // Filled in place; a buffer that already has the room keeps its allocation.
    out.resize(3 + node.size() + 1 + skewLen + 1 + iamat.client.size() + 1 + iamat.location.size()
               + 1 + iamat.time.size());
    char *p = out.data();
    auto put = [&p](const char *data, qsizetype n) {
        std::memcpy(p, data, size_t(n));
        p += n;
    };
    put("AT ", 3);
    put(node.data(), node.size());
    *p++ = ' ';
    put(skew, skewLen);
    *p++ = ' ';
    put(iamat.client.data(), iamat.client.size());
    *p++ = ' ';
    put(iamat.location.data(), iamat.location.size());
    *p++ = ' ';
    put(iamat.time.data(), iamat.time.size());
}

void appendEscaped(QByteArray &out, QByteArrayView bytes, qsizetype maxBytes)
{
    appendEscapedPrefix(out, bytes, bytes.size(), maxBytes);
}

void appendEscapedPrefix(QByteArray &out, QByteArrayView prefix, qsizetype totalBytes, qsizetype maxBytes)
{
    static constexpr char hex[] = "0123456789abcdef";
    auto plain = [](unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\'; };
    const qsizetype limit = out.size() + maxBytes;
    qsizetype i = 0;
    while (i < totalBytes) {
        // Every byte takes at least one output byte, so the limit is reached before the prefix
        // (at least maxBytes long when it is not the whole text) runs out.
        if (out.size() >= limit || i >= prefix.size()) {
            out.append("...(", 4).append(QByteArray::number(totalBytes)).append(" bytes)");
            return;
        }
        // Printable runs go in one append: log lines are almost always all printable.
        qsizetype run = i;
        while (run < prefix.size() && plain(static_cast<unsigned char>(prefix[run])))
            ++run;
        if (run > i) {
            const qsizetype n = std::min(run - i, limit - out.size());
            out.append(prefix.data() + i, n);
            i += n;
            continue;
        }
        const auto c = static_cast<unsigned char>(prefix[i++]);
        switch (c) {
        case '\n': out.append("\\n", 2); break;
        case '\r': out.append("\\r", 2); break;
        case '\t': out.append("\\t", 2); break;
        case '\\': out.append("\\\\", 2); break;
        default: {
            const char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            out.append(esc, 4);
        }
        }
    }
}

QByteArray escaped(QByteArrayView bytes, qsizetype maxBytes)
{
    QByteArray out;
    out.reserve(std::min(bytes.size(), maxBytes) + 8);
    appendEscaped(out, bytes, maxBytes);
    return out;
}

} // namespace herd::protocol
