#pragma once
// One configured neighbour of a node: what outlives any single connection to it (counters,
// back-off, heartbeat sequence, how far into its store we are, flow-control marks) and which
// session carries the link now.
#include "peerprotocol.h"
#include "stats.h"

#include <QMap>
#include <QObject>
#include <QString>

class QTimer;

namespace herd {

class Session;

class PeerLink final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(PeerLink)
public:
    PeerLink(QString peer, int redialMinMs, int redialMaxMs, int suspectAfterMissed, QObject *parent = nullptr);

    const QString &peer() const { return m_peer; }
    bool isUp() const { return m_session != nullptr || m_handover; }
    Liveness liveness() const;
    LinkInfo info() const;
    const LinkStats &stats() const { return m_stats; }

    // The session carrying the link (nullptr: none now), and our own dial before it is up.
    Session *session() const { return m_session; }
    Session *dialing() const { return m_dialing; }
    void setDialing(Session *s) { m_dialing = s; }
    // Neither a link nor a dial of ours under way: free to dial.
    bool isIdle() const { return !m_session && !m_dialing; }

    // The link came up on `s` after being down: counted, back-off and redial reset.
    void wentUp(Session *s, qint64 nowMs);
    // `s` takes over a link that stayed up (a duplicate connection won, or a handover ended).
    void takeOver(Session *s);
    // The link went down (its session closed, or a handover failed).
    void wentDown(qint64 nowMs);
    // The session closed because the other side moved the link to a duplicate connection that
    // is still handshaking here: the link stays up, without a session, until it finishes.
    void startHandover();
    bool inHandover() const { return m_handover; }
    // The session stops carrying the link (retired as a duplicate).
    void release() { m_session = nullptr; }
    // Whether the link last went down for unanswered heartbeats (then it shows as dead).
    void setDeadDrop(bool dead) { m_lastDead = dead; }

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

    // Counters kept per neighbour.
    void countHeartbeatReceived() { ++m_stats.heartbeatsReceived; }
    void countFloodsSent(quint64 n = 1) { m_stats.floodsSent += n; }
    void countFloodReceived() { ++m_stats.floodsReceived; }
    void countDuplicate() { ++m_stats.duplicatesDropped; }
    void countAuthFailure() { ++m_stats.authFailures; }

    // Catch-up: the neighbour's store (epoch) and how far into it we are known to be (its
    // change counter as of its last heartbeat: every flood before it has arrived).
    peer::StorePosition peerStore() const { return m_peerStore; }
    void setPeerStore(peer::StorePosition position) { m_peerStore = position; }

    // Flow control (see FlowControl): bytes written to the link at the last heartbeat tick
    // while it held clients back, and whether it stopped taking any (then it holds nobody back
    // until it is nearly caught up, or dropped).
    quint64 flowMark() const { return m_flowMark; }
    void setFlowMark(quint64 bytes) { m_flowMark = bytes; }
    bool flowStalled() const { return m_flowStalled; }
    void setFlowStalled(bool stalled) { m_flowStalled = stalled; }

Q_SIGNALS:
    void redialDue();

private:
    QString m_peer;
    int m_redialMinMs;
    int m_redialMaxMs;
    int m_backoffMs;
    int m_suspectAfter;
    QTimer *m_redialTimer;
    Session *m_session = nullptr;
    Session *m_dialing = nullptr;
    LinkStats m_stats;
    bool m_lastDead = false;
    bool m_handover = false;
    peer::StorePosition m_peerStore;
    quint64 m_flowMark = 0;
    bool m_flowStalled = false;
    quint64 m_seq = 0;
    quint64 m_ackedSeq = 0;
    QMap<quint64, qint64> m_outstanding;     // seq -> sent at (µs)
};

} // namespace herd
