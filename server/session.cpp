#include "session.h"

namespace herd {

Session::~Session() = default;

bool Session::adopt(Poller *poller, quint64 id, int fd, const QString &address, int maxLineBytes,
                    qint64 maxOutputBytes)
{
    m_connection = std::make_unique<Connection>(static_cast<ConnectionOwner *>(this), poller, id, fd, address,
                                                maxLineBytes, maxOutputBytes);
    m_sinceMs = m_connection->openedAtMs();
    return m_connection->state() != Connection::State::Closed;
}

bool Session::dial(Poller *poller, quint64 id, const QString &ip, quint16 port, int maxLineBytes,
                   qint64 maxOutputBytes)
{
    m_connection.reset(Connection::dial(static_cast<ConnectionOwner *>(this), poller, id, ip, port, maxLineBytes,
                                        maxOutputBytes));
    m_sinceMs = m_connection->openedAtMs();
    return m_connection->state() != Connection::State::Closed;
}

void Session::connectionLine(Connection &c, QByteArrayView line, bool final)
{
    Q_UNUSED(c);
    Q_UNUSED(final);
    m_host->sessionLine(*this, line);
}

void Session::connectionOverlong(Connection &c, QByteArrayView head)
{
    Q_UNUSED(c);
    m_host->sessionOverlong(*this, head);
}

void Session::connectionEstablished(Connection &c)
{
    Q_UNUSED(c);
    m_host->sessionEstablished(*this);
}

void Session::connectionClosed(Connection &c, const QString &reason)
{
    Q_UNUSED(c);
    m_host->sessionClosed(*this, reason);
}

void Session::connectionWantsFlush(Connection &c)
{
    Q_UNUSED(c);
    m_host->sessionWantsFlush(*this);
}

void Session::connectionOutputBelow(Connection &c)
{
    Q_UNUSED(c);
    m_host->sessionOutputBelow(*this);
}

void Session::connectionReadAhead(Connection &c, QByteArrayView buffered)
{
    Q_UNUSED(c);
    m_host->sessionReadAhead(*this, buffered);
}

} // namespace herd
