#pragma once
#include <QObject>
#include <QVarLengthArray>
#include <cstdint>

class QSocketNotifier;

namespace herd {

// Something with a file descriptor that wants readiness events.
class PollHandler {
public:
    virtual void onPollEvent(std::uint32_t events) = 0;   // EPOLLIN / EPOLLOUT / EPOLLERR / EPOLLHUP
protected:
    ~PollHandler() = default;
};

// One epoll set per node, itself watched by a single QSocketNotifier: thousands of sockets cost
// the Qt event loop one descriptor, and readiness is collected in batches of up to kBatch.
class Poller final : public QObject {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(Poller)
public:
    explicit Poller(QObject *parent = nullptr);
    ~Poller() override;

    bool isValid() const { return m_epoll >= 0; }
    bool add(int fd, PollHandler *handler, std::uint32_t events);
    bool modify(int fd, PollHandler *handler, std::uint32_t events);
    // Stops events for `handler`, including ones already collected in the current batch, so the
    // handler may be destroyed once control returns to the event loop.
    void remove(int fd, PollHandler *handler);

private:
    void dispatch();

    static constexpr int kBatch = 256;
    int m_epoll = -1;
    QSocketNotifier *m_notifier = nullptr;
    bool m_dispatching = false;
    QVarLengthArray<PollHandler *, 16> m_removedDuringDispatch;
};

} // namespace herd
