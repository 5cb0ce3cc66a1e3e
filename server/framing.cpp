#include "framing.h"

#include <algorithm>
#include <cstring>

namespace herd {

void LineFramer::append(QByteArrayView bytes)
{
    if (bytes.isEmpty())
        return;
    char *p = prepareWrite(bytes.size());
    std::memcpy(p, bytes.data(), size_t(bytes.size()));
    commitWrite(bytes.size());
}

LineFramer::Result LineFramer::endOfBuffer()
{
    if (m_overlong)
        return {};
    const qsizetype avail = m_buf.size() - m_start;
    if (avail > qsizetype(m_max) + 1)   // +1: a line of exactly the limit may still await "\r\n"
        return overlong(m_buf.constData() + m_start, avail);
    m_scanned = avail;
    compact();
    return {};
}

LineFramer::Result LineFramer::overlong(const char *head, qsizetype size)
{
    m_overlong = true;
    m_start = m_buf.size();   // the rest is never handed out; the head stays valid until then
    m_scanned = 0;
    return {Event::Overlong, QByteArrayView(head, std::min(size, kOverlongHead))};
}

LineFramer::Result LineFramer::finish()
{
    if (m_overlong)
        return {};
    const Result r = next();
    if (r.event != Event::NeedMore)
        return r;
    // next() compacted: the buffer is exactly the unterminated tail.
    const qsizetype tail = m_buf.size();
    if (tail == 0)
        return {};
    m_start = tail;       // handed out; the view stays valid until the next non-const call
    m_scanned = 0;
    if (tail > m_max)   // "\r" and all: the line never got its "\r\n"
        return overlong(m_buf.constData(), tail);
    return {Event::FinalLine, QByteArrayView(m_buf.constData(), tail)};
}

void LineFramer::compact()
{
    if (m_start == 0)
        return;
    const qsizetype tail = m_buf.size() - m_start;
    if (tail > 0)
        std::memmove(m_buf.data(), m_buf.constData() + m_start, size_t(tail));
    m_buf.resize(tail);
    m_start = 0;
}

} // namespace herd
