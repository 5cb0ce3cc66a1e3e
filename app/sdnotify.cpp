#include "sdnotify.h"

#include <QString>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace herd::app {

bool sdNotify(const QByteArray &state)
{
    const QByteArray address = qgetenv("NOTIFY_SOCKET");
    sockaddr_un sun {};
    if (address.size() < 2 || address.size() >= qsizetype(sizeof sun.sun_path)
        || (address.at(0) != '/' && address.at(0) != '@'))
        return false;
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, address.constData(), size_t(address.size()));
    if (sun.sun_path[0] == '@')
        sun.sun_path[0] = '\0';   // abstract namespace: the length below counts every byte
    const socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(address.size()));
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    const ssize_t sent = ::sendto(fd, state.constData(), size_t(state.size()), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr *>(&sun), length);
    ::close(fd);
    return sent == state.size();
}

qint64 watchdogIntervalMs()
{
    bool ok = false;
    const qint64 usec = qEnvironmentVariable("WATCHDOG_USEC").toLongLong(&ok);
    if (!ok || usec <= 0)
        return 0;
    // WATCHDOG_PID, when set, names the process meant (not a child that inherited it).
    if (qEnvironmentVariableIsSet("WATCHDOG_PID")
        && qEnvironmentVariable("WATCHDOG_PID").toLongLong() != qint64(::getpid()))
        return 0;
    return std::max<qint64>(1, usec / 1000);
}

} // namespace herd::app
