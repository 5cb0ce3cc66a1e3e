#pragma once
// A node's periodic sweep: clients that sent no first line in time or fell silent too long are
// closed after their replies, handshakes that take too long are dropped, lingering connections
// past their deadline are closed; then the log and the journal are pushed towards the disk.
#include <QtGlobal>

namespace herd {

class NodeContext;
class SessionTable;

class Housekeeping {
public:
    static constexpr int kIntervalMs = 500;
    static constexpr int kHandshakeTimeoutMs = 5000;

    Housekeeping(NodeContext &ctx, SessionTable &sessions) : m_ctx(ctx), m_sessions(sessions) {}
    void sweep(qint64 nowMs);

private:
    NodeContext &m_ctx;
    SessionTable &m_sessions;
};

} // namespace herd
