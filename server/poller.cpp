#include "poller.h"

#include <QSocketNotifier>
#include <algorithm>
#include <sys/epoll.h>
#include <unistd.h>

namespace herd {

Poller::Poller(QObject *parent)
    : QObject(parent)
{
    m_epoll = epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0)
        return;
    m_notifier = new QSocketNotifier(m_epoll, QSocketNotifier::Read, this);
    connect(m_notifier, &QSocketNotifier::activated, this, &Poller::dispatch);
}

Poller::~Poller()
{
    if (m_notifier)
        m_notifier->setEnabled(false);
    if (m_epoll >= 0)
        ::close(m_epoll);
}

bool Poller::add(int fd, PollHandler *handler, std::uint32_t events)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    return epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool Poller::modify(int fd, PollHandler *handler, std::uint32_t events)
{
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = handler;
    return epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void Poller::remove(int fd, PollHandler *handler)
{
    if (fd >= 0)
        epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
    if (m_dispatching)
        m_removedDuringDispatch.append(handler);
}

void Poller::dispatch()
{
    epoll_event events[kBatch];
    // A few rounds per wake-up, then back to the Qt loop so timers and other nodes get a turn.
    for (int round = 0; round < 4; ++round) {
        const int n = epoll_wait(m_epoll, events, kBatch, 0);
        if (n <= 0)
            return;
        m_dispatching = true;
        for (int i = 0; i < n; ++i) {
            auto *handler = static_cast<PollHandler *>(events[i].data.ptr);
            if (!m_removedDuringDispatch.isEmpty()
                && std::find(m_removedDuringDispatch.cbegin(), m_removedDuringDispatch.cend(),
                             handler) != m_removedDuringDispatch.cend())
                continue;
            handler->onPollEvent(events[i].events);
        }
        m_dispatching = false;
        m_removedDuringDispatch.clear();
        if (n < kBatch)
            return;
    }
}

} // namespace herd
