#pragma once
// The protocol's line framing as a pure class: bytes in, lines out. No sockets, no event loop, so the
// fuzzer and Connection run exactly the same code.
#include <QByteArray>
#include <QByteArrayView>
#include <cstring>

namespace herd {

// Splits a byte stream into lines. A line is the bytes up to "\n", without it; one "\r" right
// before the "\n" is dropped too. A line longer than the limit ends the stream (Overlong), and
// so does an unterminated tail that can no longer become a line within the limit (more than
// limit + 1 bytes: a line of exactly the limit may still be waiting for its "\r\n"). At end of
// input, finish() hands out the final unterminated line, "\r" and all.
//
// Zero-copy: the views it returns point into its own buffer, which recv() can fill directly
// (prepareWrite/commitWrite). A view stays valid until the next non-const call.
class LineFramer {
public:
    enum class Event {
        NeedMore,   // no complete line buffered (the partial tail is kept), or the stream is over
        Line,       // a complete line, without its terminator
        FinalLine,  // from finish(): the last line, which had no "\n"
        Overlong,   // a line longer than the limit; bytes: its first kOverlongHead bytes at most
    };
    struct Result {
        Event event = Event::NeedMore;
        QByteArrayView bytes;
    };
    static constexpr qsizetype kOverlongHead = 256;   // enough of an overlong line for a log

    explicit LineFramer(int maxLineBytes) : m_max(maxLineBytes) {}

    int maxLineBytes() const { return m_max; }
    // Applies from the next line on (a connection that turns out to be a peer link gets more).
    void setMaxLineBytes(int bytes) { m_max = bytes; }
    qsizetype buffered() const { return m_buf.size() - m_start; }   // bytes not yet handed out
    QByteArrayView pending() const { return {m_buf.constData() + m_start, buffered()}; }   // those bytes
    // A line broke the limit: the stream is over, input is dropped, next() says NeedMore.
    bool isOverlong() const { return m_overlong; }

    // Appends a copy of `bytes`.
    void append(QByteArrayView bytes);
    // Or lets the caller write into the buffer: room for `n` bytes at the end, then
    // commitWrite(got) with 0 <= got <= n (0: nothing came). Nothing else in between.
    char *prepareWrite(qsizetype n);
    void commitWrite(qsizetype got);

    // The next complete line, or Overlong (once, then the stream is over), or NeedMore (the
    // partial tail is then moved to the front of the buffer).
    Result next();
    // At end of input: what next() says while complete lines are left, then the unterminated
    // tail as FinalLine (Overlong when it is longer than the limit), then NeedMore.
    Result finish();

private:
    Result endOfBuffer();   // no "\n" in what is buffered: Overlong or NeedMore
    Result overlong(const char *head, qsizetype size);
    void compact();

    QByteArray m_buf;
    qsizetype m_start = 0;      // first byte not yet handed out
    qsizetype m_scanned = 0;    // bytes from m_start known to hold no "\n"
    qsizetype m_writeBase = -1; // prepareWrite's offset until commitWrite
    int m_max;
    bool m_overlong = false;
};

// Inline: once per read and once per line on every connection, the hot path of the server.
inline char *LineFramer::prepareWrite(qsizetype n)
{
    if (m_start > 0 && m_start == m_buf.size()) {
        // Everything was handed out: start over at the front, keeping the allocation.
        m_buf.resize(0);
        m_start = 0;
        m_scanned = 0;
    }
    m_writeBase = m_buf.size();
    m_buf.resize(m_writeBase + n);   // no zero fill: recv() writes what counts
    return m_buf.data() + m_writeBase;
}

inline void LineFramer::commitWrite(qsizetype got)
{
    Q_ASSERT(m_writeBase >= 0 && got >= 0 && m_writeBase + got <= m_buf.size());
    // After an overlong line nothing more is looked at, so nothing more is kept.
    m_buf.resize(m_overlong ? m_writeBase : m_writeBase + got);
    m_writeBase = -1;
}

inline LineFramer::Result LineFramer::next()
{
    // After Overlong nothing is left to hand out (see overlong()), so no test for it here.
    const char *base = m_buf.constData() + m_start;
    const qsizetype avail = m_buf.size() - m_start;
    // Search only what was not searched before: a line arriving a byte at a time costs O(n).
    const void *nl = avail > m_scanned
        ? std::memchr(base + m_scanned, '\n', size_t(avail - m_scanned)) : nullptr;
    if (!nl)
        return endOfBuffer();
    qsizetype len = static_cast<const char *>(nl) - base;
    m_start += len + 1;
    m_scanned = 0;
    if (len > 0 && base[len - 1] == '\r')
        --len;
    if (len > m_max)
        return overlong(base, len);
    return {Event::Line, QByteArrayView(base, len)};
}

} // namespace herd
