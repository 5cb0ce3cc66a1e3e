#pragma once
#include <QMap>
#include <QMetaType>
#include <QObject>
#include <QString>

class QTimer;

namespace herd {

class Connection;

// How a node sees one neighbour, judged from acks to its heartbeats.
enum class Liveness { Down, Alive, Suspect, Dead };
QString livenessName(Liveness l);

struct LinkStats {
    quint64 heartbeatsSent = 0;
    quint64 acksReceived = 0;
    quint64 heartbeatsReceived = 0;   // the neighbour's heartbeats we acked
    quint64 timesUp = 0;
    quint64 timesDown = 0;
    quint64 floodsSent = 0;
    quint64 floodsReceived = 0;       // stored and passed on
    quint64 duplicatesDropped = 0;    // not newer than what we held
    quint64 authFailures = 0;
    qint64 rttUs = -1;                // last heartbeat round trip; -1: none yet
    qint64 lastChangeMs = 0;          // epoch ms of the last up/down
    qint64 lastAckMs = 0;             // epoch ms of the newest heartbeat ack; 0: none yet
};

struct LinkInfo {
    QString peer;
    bool up = false;
    bool cut = false;                 // fault injection: held down on purpose
    Liveness liveness = Liveness::Down;
    LinkStats stats;
};

// One configured neighbour of a node: the peer link's state, counters and timers. The node
// drives the protocol; this keeps what outlives any single connection.
class PeerLink final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerLink)
public:
    PeerLink(QString peer, int redialMinMs, int redialMaxMs, QObject *parent = nullptr);

    const QString &peer() const { return m_peer; }
    bool isUp() const { return m_connection != nullptr || m_handover; }
    Liveness liveness() const;
    LinkInfo info() const;

    // Capped exponential back-off: the next delay, then doubles it up to the cap.
    int nextRedialDelay();
    void resetBackoff() { m_backoffMs = m_redialMinMs; }
    void scheduleRedial(int delayMs);
    void cancelRedial();

    // Heartbeats: sequence numbers sent and when (epoch µs), acked ones dropped.
    quint64 nextHeartbeat(qint64 nowUs);
    bool ack(quint64 seq, qint64 nowUs);     // false: not a heartbeat we are waiting for
    int missedAcks() const;                  // heartbeats sent since the newest ack
    void resetHeartbeats();

    Connection *m_connection = nullptr;      // the link, once the handshake is done
    Connection *m_dialing = nullptr;         // our outgoing attempt, before it is up
    LinkStats m_stats;
    int m_suspectAfter = 2;
    bool m_lastDead = false;                 // last drop was for missed acks
    bool m_handover = false;                 // between a retired duplicate and its successor
    // Catch-up: the neighbour's store (epoch) and how far into it we are known to be (its
    // change counter as of its last heartbeat: every flood before it has arrived).
    quint64 m_peerEpoch = 0;
    quint64 m_peerSeq = 0;
    // Flow control (Node::updateBackpressure): bytes written to the link at the last heartbeat
    // tick while it held clients back, and whether it stopped taking any (then it holds nobody
    // back until it is nearly caught up, or dropped).
    quint64 m_flowMark = 0;
    bool m_flowStalled = false;

Q_SIGNALS:
    void redialDue();

private:
    QString m_peer;
    int m_redialMinMs;
    int m_redialMaxMs;
    int m_backoffMs;
    QTimer *m_redialTimer;
    quint64 m_seq = 0;
    quint64 m_ackedSeq = 0;
    QMap<quint64, qint64> m_outstanding;     // seq -> sent at (µs)
};

} // namespace herd

Q_DECLARE_METATYPE(herd::LinkInfo)
