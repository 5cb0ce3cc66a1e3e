#include "peerlink.h"

#include <QTimer>

namespace herd {

PeerLink::PeerLink(QString peer, int redialMinMs, int redialMaxMs, int suspectAfterMissed, QObject *parent)
    : QObject(parent)
    , m_peer(std::move(peer))
    , m_redialMinMs(redialMinMs)
    , m_redialMaxMs(redialMaxMs)
    , m_backoffMs(redialMinMs)
    , m_suspectAfter(suspectAfterMissed)
    , m_redialTimer(new QTimer(this))
{
    m_redialTimer->setSingleShot(true);
    connect(m_redialTimer, &QTimer::timeout, this, &PeerLink::redialDue);
}

Liveness PeerLink::liveness() const
{
    if (!isUp())
        return m_lastDead ? Liveness::Dead : Liveness::Down;
    return missedAcks() >= m_suspectAfter ? Liveness::Suspect : Liveness::Alive;
}

LinkInfo PeerLink::info() const
{
    return LinkInfo{m_peer, isUp(), false, liveness(), m_stats};
}

void PeerLink::wentUp(Session *s, qint64 nowMs)
{
    m_session = s;
    m_lastDead = false;
    resetBackoff();
    cancelRedial();
    resetHeartbeats();
    ++m_stats.timesUp;
    m_stats.lastChangeMs = nowMs;
}

void PeerLink::takeOver(Session *s)
{
    m_handover = false;
    m_session = s;
    resetHeartbeats();   // acks for the old connection's heartbeats will not come
}

void PeerLink::wentDown(qint64 nowMs)
{
    m_session = nullptr;
    m_handover = false;
    ++m_stats.timesDown;
    m_stats.lastChangeMs = nowMs;
    resetHeartbeats();
}

void PeerLink::startHandover()
{
    m_session = nullptr;
    m_handover = true;
}

int PeerLink::nextRedialDelay()
{
    const int delay = m_backoffMs;
    m_backoffMs = std::min(m_backoffMs * 2, m_redialMaxMs);
    return delay;
}

void PeerLink::scheduleRedial(int delayMs)
{
    if (!m_redialTimer->isActive())
        m_redialTimer->start(delayMs);
}

void PeerLink::cancelRedial()
{
    m_redialTimer->stop();
}

quint64 PeerLink::nextHeartbeat(qint64 nowUs)
{
    ++m_seq;
    m_outstanding.insert(m_seq, nowUs);
    ++m_stats.heartbeatsSent;
    return m_seq;
}

bool PeerLink::ack(quint64 seq, qint64 nowUs)
{
    auto it = m_outstanding.find(seq);
    if (it == m_outstanding.end())
        return false;
    m_stats.rttUs = nowUs - it.value();
    ++m_stats.acksReceived;
    m_stats.lastAckMs = nowUs / 1000;
    m_ackedSeq = std::max(m_ackedSeq, seq);
    // Everything up to this one is answered or lost; either way no longer awaited.
    m_outstanding.erase(m_outstanding.begin(), std::next(it));
    return true;
}

int PeerLink::missedAcks() const
{
    return int(m_seq - m_ackedSeq);
}

void PeerLink::resetHeartbeats()
{
    m_ackedSeq = m_seq;
    m_outstanding.clear();
}

} // namespace herd
