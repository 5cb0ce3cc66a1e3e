#pragma once
// A TCP connection on a raw non-blocking socket, driven by the node's Poller.
//
// Not a QTcpSocket because the protocol needs TCP half-close: a client may shut down its write side
// and still expect the reply to its last line, and QAbstractSocket closes both directions when
// it reads end-of-file. Owning the descriptor also lets a node batch writes per event-loop pass.
#include "framing.h"
#include "poller.h"
#include "protocol.h"
#include <QByteArray>
#include <QByteArrayView>
#include <QString>
#include <deque>

namespace herd {

class Connection;

// What a connection reports to whoever owns it (the node).
class ConnectionOwner {
public:
    // One complete line without its terminator ("\n", or "\r\n"). At end of input a final
    // unterminated line is delivered too, with `final` set.
    virtual void connectionLine(Connection &c, QByteArrayView line, bool final) = 0;
    // A line longer than the limit: no reply, the connection is then closed.
    virtual void connectionOverlong(Connection &c, QByteArrayView head) = 0;
    virtual void connectionEstablished(Connection &c) = 0;   // outgoing connect finished
    // The descriptor is closed; the owner forgets the connection (deleted after the batch).
    virtual void connectionClosed(Connection &c, const QString &reason) = 0;
    // `c` has output to write: the owner flushes it once control returns to the event loop.
    virtual void connectionWantsFlush(Connection &c) = 0;
    // What was read and is about to be handed out line by line (complete lines, maybe a partial
    // tail), for the owner to look ahead (prefetch what the lines will touch). Acting on it is
    // not allowed: the lines come through connectionLine() as usual.
    virtual void connectionReadAhead(Connection &c, QByteArrayView buffered) { Q_UNUSED(c); Q_UNUSED(buffered); }
    // The unwritten output of `c` fell to the mark set with notifyWhenOutputBelow() (once).
    virtual void connectionOutputBelow(Connection &c) { Q_UNUSED(c); }
protected:
    ~ConnectionOwner() = default;
};

class Connection final : public PollHandler {
    Q_DISABLE_COPY_MOVE(Connection)
public:
    enum class State { Connecting, Open, Draining, Lingering, Closed };

    // Adopts an accepted, connected descriptor.
    Connection(ConnectionOwner *owner, Poller *poller, quint64 id, int fd, QString peerAddress,
               int maxLineBytes, qint64 maxOutputBytes);
    // Starts a non-blocking connect; on failure the state is Closed and errorString() says why.
    static Connection *dial(ConnectionOwner *owner, Poller *poller, quint64 id,
                            const QString &ip, quint16 port, int maxLineBytes,
                            qint64 maxOutputBytes);
    ~Connection();

    quint64 id() const { return m_id; }
    State state() const { return m_state; }
    bool isOpen() const { return m_state == State::Open || m_state == State::Draining; }
    const QString &peerAddress() const { return m_peerAddress; }
    const QString &errorString() const { return m_error; }
    qint64 pendingOutput() const { return m_out.size() - m_outPos; }
    quint64 bytesWritten() const { return m_bytesWritten; }   // to the socket, since it opened
    void setMaxOutputBytes(qint64 bytes) { m_maxOutput = bytes; }
    // The line limit from the next line on: a peer link carries AT lines, which are longer
    // than the IAMAT lines they answer (node name and skew), so it needs more than a client.
    int maxLineBytes() const { return m_in.maxLineBytes(); }
    void setMaxLineBytes(int bytes) { m_in.setMaxLineBytes(bytes); }

    // Queues bytes in order behind any reply still being prepared. Returns false (and aborts the
    // connection) when the unread output would exceed the cap: a client that never reads.
    bool send(QByteArrayView bytes);
    bool sendLine(QByteArrayView text, bool newline = true);   // the same, plus "\n"

    // Reserves a place in the reply order for an answer that arrives later (WHATSAT waiting on
    // Places); replies sent after it wait until it is filled.
    quint64 reserveReply();
    void fillReply(quint64 ticket, QByteArrayView bytes);
    bool hasReservedReplies() const { return !m_slots.empty(); }

    void flush();                 // write what the socket takes now; watch for writability if not all
    // Flow control: a paused connection is not read (its sender's TCP window closes) until
    // resumed; lines already read are still handled.
    void setReadPaused(bool paused);
    bool isReadPaused() const { return m_readPaused; }
    // connectionOutputBelow() once pendingOutput() is at most `bytes` after a write; 0: never.
    void notifyWhenOutputBelow(qint64 bytes) { m_notifyBelow = bytes; }
    void closeWhenDone();         // stop reading; close after every reply is out
    // Send nothing more: half-close once the output is written, keep reading until the other
    // side closes too (a retired duplicate peer link).
    void finishWrites();
    void abort(const QString &reason);   // close now, dropping output

    // Lingering connections past their deadline are closed by the owner's sweep.
    bool lingerExpired(qint64 nowMs) const { return m_state == State::Lingering && nowMs >= m_lingerDeadlineMs; }

    void onPollEvent(std::uint32_t events) override;

    qint64 openedAtMs() const { return m_openedAtMs; }   // epoch ms
    bool isOutgoing() const { return m_outgoing; }       // made by dial()
    bool outputOverflowed() const { return m_outputOverflowed; }   // closed for output not read in time
    // When the lines now being handed out were read: one clock read per read, shared by the
    // (often dozens of pipelined) lines it brought, which did arrive together.
    const protocol::Timestamp &readAt() const { return m_readAt; }

private:
    Connection(ConnectionOwner *owner, Poller *poller, quint64 id, int maxLineBytes, qint64 maxOutputBytes);
    bool appendOutput(QByteArrayView bytes, bool newline = false);
    void readInput();
    void processInput(bool atEof);
    void finishIfDone();
    void startLinger();
    void closeFd(const QString &reason);
    void updateInterest();

    ConnectionOwner *m_owner;
    Poller *m_poller;
    quint64 m_id;
    int m_fd = -1;
    State m_state = State::Open;
    QString m_peerAddress;
    QString m_error;
    qint64 m_maxOutput;
    LineFramer m_in;              // what was read and not yet handled
    QByteArray m_out;
    qsizetype m_outPos = 0;
    bool m_wantWrite = false;
    bool m_readShut = false;      // end of input seen, or we stopped reading
    bool m_readPaused = false;    // flow control, see setReadPaused()
    qint64 m_notifyBelow = 0;
    quint64 m_bytesWritten = 0;
    bool m_eofSeen = false;       // the peer shut down its write side
    bool m_finishWrites = false;  // half-close once the output is out
    bool m_writeShut = false;
    bool m_flushQueued = false;
    qint64 m_lingerDeadlineMs = 0;
    struct Slot {
        quint64 ticket;
        bool ready;
        QByteArray bytes;
    };
    std::deque<Slot> m_slots;
    quint64 m_nextTicket = 1;
    qint64 m_openedAtMs = 0;
    bool m_outgoing = false;
    bool m_outputOverflowed = false;
    protocol::Timestamp m_readAt;
};

} // namespace herd
