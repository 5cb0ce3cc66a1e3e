#pragma once
// The open sessions of a node, by id: accepted and dialled ones alike. A session that closes is
// kept until the end of the event-loop pass (its callbacks may still be on the stack).
#include "session.h"

#include <memory>
#include <unordered_map>
#include <vector>

namespace herd {

class SessionTable {
    Q_DISABLE_COPY_MOVE(SessionTable)
public:
    explicit SessionTable(SessionHost *host) : m_host(host) {}

    void setPoller(Poller *poller) { m_poller = poller; }
    qsizetype size() const { return qsizetype(m_sessions.size()); }
    Session *find(quint64 id) const;

    // Sessions that could not be set up are returned too, not kept: the caller logs why
    // (errorString()) and drops it.
    std::unique_ptr<Session> accept(int fd, const QString &address, int maxLineBytes, qint64 maxOutputBytes);
    std::unique_ptr<Session> dial(const QString &ip, quint16 port, int maxLineBytes, qint64 maxOutputBytes);
    Session *keep(std::unique_ptr<Session> s);
    // A closed session leaves the table; deleted by clearClosed() (after the batch).
    bool retire(Session &s);
    void clearClosed() { m_closed.clear(); }

    template<typename F> void forEach(F &&f)
    {
        for (auto &[id, s] : m_sessions)
            f(*s);
    }
    template<typename F> void forEach(F &&f) const
    {
        for (const auto &[id, s] : m_sessions)
            f(std::as_const(*s));
    }
    // Every session `pick` selects, aborted with `reason` (collected first: aborting closes).
    template<typename P> void abortIf(P &&pick, const QString &reason)
    {
        std::vector<Session *> doomed;
        for (auto &[id, s] : m_sessions) {
            if (pick(*s))
                doomed.push_back(s.get());
        }
        for (Session *s : doomed)
            s->connection().abort(reason);
    }

private:
    SessionHost *m_host;
    Poller *m_poller = nullptr;
    std::unordered_map<quint64, std::unique_ptr<Session>> m_sessions;
    std::vector<std::unique_ptr<Session>> m_closed;
    quint64 m_nextId = 1;
};

} // namespace herd
