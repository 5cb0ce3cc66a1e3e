#include "sessiontable.h"

namespace herd {

Session *SessionTable::find(quint64 id) const
{
    auto it = m_sessions.find(id);
    return it == m_sessions.end() ? nullptr : it->second.get();
}

std::unique_ptr<Session> SessionTable::accept(int fd, const QString &address, int maxLineBytes,
                                              qint64 maxOutputBytes)
{
    auto s = std::make_unique<Session>(m_host);
    const quint64 id = m_nextId++;
    s->adopt(m_poller, id, fd, address, maxLineBytes, maxOutputBytes);
    return s;
}

std::unique_ptr<Session> SessionTable::dial(const QString &ip, quint16 port, int maxLineBytes,
                                            qint64 maxOutputBytes)
{
    auto s = std::make_unique<Session>(m_host);
    const quint64 id = m_nextId++;
    s->dial(m_poller, id, ip, port, maxLineBytes, maxOutputBytes);
    return s;
}

Session *SessionTable::keep(std::unique_ptr<Session> s)
{
    Session *raw = s.get();
    m_sessions.emplace(raw->id(), std::move(s));
    return raw;
}

bool SessionTable::retire(Session &s)
{
    auto it = m_sessions.find(s.id());
    if (it == m_sessions.end())
        return false;
    m_closed.push_back(std::move(it->second));
    m_sessions.erase(it);
    return true;
}

} // namespace herd
