#pragma once
// A line-oriented TCP client for tests: real sockets, waits on events (QTest::qWaitFor keeps
// the event loop turning, so in-process nodes keep serving while the test waits).
#include <QHostAddress>
#include <QTcpSocket>
#include <QTest>
#include <sys/socket.h>

namespace herdtest {

class TestClient {
public:
    explicit TestClient(quint16 port, const QString &host = QStringLiteral("127.0.0.1"), const QString &from = {})
    {
        if (!from.isEmpty())
            m_socket.bind(QHostAddress(from));
        m_socket.connectToHost(QHostAddress(host), port);
        static_cast<void>(QTest::qWaitFor([this] { return m_socket.state() == QAbstractSocket::ConnectedState
                                        || m_socket.state() == QAbstractSocket::UnconnectedState; },
                        5000));
    }

    bool isConnected() const { return m_socket.state() == QAbstractSocket::ConnectedState; }
    QTcpSocket &socket() { return m_socket; }

    void send(const QByteArray &bytes)
    {
        m_socket.write(bytes);
        m_socket.flush();
    }

    // Shuts down our write side only (TCP half-close); we can still read the replies.
    void halfClose()
    {
        m_socket.flush();
        static_cast<void>(QTest::qWaitFor([this] { return m_socket.bytesToWrite() == 0; }, 5000));
        ::shutdown(int(m_socket.socketDescriptor()), SHUT_WR);
    }

    // The next line without its "\n"; *ok false on timeout.
    QByteArray readLine(bool *ok = nullptr, int timeoutMs = 5000)
    {
        QByteArray line = readUntil("\n", ok, timeoutMs);
        line.chop(1);
        return line;
    }

    // Everything up to and including `terminator`, e.g. "\n\n" for a WHATSAT reply.
    QByteArray readUntil(const QByteArray &terminator, bool *ok = nullptr, int timeoutMs = 15000)
    {
        const bool got = QTest::qWaitFor([&] {
            m_buffer.append(m_socket.readAll());
            return m_buffer.contains(terminator);
        }, timeoutMs);
        if (ok)
            *ok = got;
        if (!got)
            return {};
        const qsizetype end = m_buffer.indexOf(terminator) + terminator.size();
        QByteArray out = m_buffer.left(end);
        m_buffer.remove(0, end);
        return out;
    }

    // Waits until the server closes the connection; returns what arrived before that.
    QByteArray readToClose(bool *closed = nullptr, int timeoutMs = 5000)
    {
        const bool got = QTest::qWaitFor([this] {
            m_buffer.append(m_socket.readAll());
            return m_socket.state() == QAbstractSocket::UnconnectedState;
        }, timeoutMs);
        m_buffer.append(m_socket.readAll());
        if (closed)
            *closed = got;
        QByteArray out = m_buffer;
        m_buffer.clear();
        return out;
    }

private:
    QTcpSocket m_socket;
    QByteArray m_buffer;
};

} // namespace herdtest
