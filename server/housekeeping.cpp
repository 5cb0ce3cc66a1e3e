#include "housekeeping.h"
#include "monitor.h"
#include "nodecontext.h"
#include "sessiontable.h"

#include <vector>

namespace herd {

void Housekeeping::sweep(qint64 now)
{
    std::vector<Session *> expired;
    std::vector<Session *> idle;
    const LimitsConfig &limits = m_ctx.config.limits;
    m_sessions.forEach([&](Session &s) {
        const Connection &c = s.connection();
        if (c.lingerExpired(now)) {
            expired.push_back(&s);
        } else if (s.isClient() && c.state() == Connection::State::Open && !c.hasReservedReplies()) {
            // Slowloris: a first line must come in time; then silence ends a connection.
            if (s.lastLineAtMs() == 0 && limits.firstLineTimeoutMs > 0 && now - s.sinceMs() > limits.firstLineTimeoutMs)
                idle.push_back(&s);
            else if (s.lastLineAtMs() != 0 && limits.idleTimeoutMs > 0 && now - s.lastLineAtMs() > limits.idleTimeoutMs)
                idle.push_back(&s);
        } else if (s.isHandshaking() && now - s.sinceMs() > kHandshakeTimeoutMs) {
            expired.push_back(&s);
        }
    });
    for (Session *s : expired) {
        const bool lingering = s->connection().state() == Connection::State::Lingering;
        if (!lingering)
            ++m_ctx.counters.handshakeTimeouts;
        s->connection().abort(lingering ? QStringLiteral("closed") : QStringLiteral("handshake timed out"));
    }
    for (Session *s : idle) {
        const bool silent = s->lastLineAtMs() == 0;
        ++m_ctx.counters.timeouts;
        ++(silent ? m_ctx.counters.firstLineTimeouts : m_ctx.counters.idleTimeouts);
        m_ctx.event(s->label(), LineKind::Connection,
                    silent ? QStringLiteral("no complete line within %1 ms, closing").arg(limits.firstLineTimeoutMs)
                           : QStringLiteral("idle for %1 ms, closing").arg(limits.idleTimeoutMs));
        s->connection().closeWhenDone();
    }
    m_ctx.log.flush();
    m_ctx.journal.sync();
}

} // namespace herd
