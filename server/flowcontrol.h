#pragma once
// Flow control: while a live neighbour has too much unwritten, clients are not read (their TCP
// windows close) until it is down to a low mark: under overload the herd slows its clients to
// what its slowest link carries instead of dropping the link. A neighbour that is suspect, dead
// or has taken nothing for a whole heartbeat interval never holds anyone back (its link is
// dropped at the output cap, or for missed acks, and caught up later).
#include <QString>

namespace herd {

class NodeContext;
class PeerLinks;
class Session;
class SessionTable;

class FlowControl {
    Q_DISABLE_COPY_MOVE(FlowControl)
public:
    FlowControl(NodeContext &ctx, PeerLinks &links, SessionTable &sessions)
        : m_ctx(ctx), m_links(links), m_sessions(sessions) {}

    bool clientsPaused() const { return m_paused; }
    // Pauses or resumes the clients as the links' output now requires.
    void update();
    // Heartbeat tick: a neighbour that took nothing since the last tick stops holding clients back.
    void checkProgress();
    // A client that connected or spoke first while paused is paused too.
    void holdIfPaused(Session &client);
    void reset() { m_paused = false; }   // the node stops: every connection closes

private:
    void setClientsPaused(bool paused, const QString &why);

    NodeContext &m_ctx;
    PeerLinks &m_links;
    SessionTable &m_sessions;
    bool m_paused = false;
    qint64 m_pausedSinceMs = 0;
};

} // namespace herd
