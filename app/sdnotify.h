#pragma once
// systemd's service notification protocol, written out (no libsystemd): each state is one
// datagram ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=...") sent to the AF_UNIX socket named
// by $NOTIFY_SOCKET (a path, or an abstract address written with a leading '@').
#include <QByteArray>

namespace herd::app {

// Sends `state`; false when there is no $NOTIFY_SOCKET (not started by systemd as Type=notify)
// or sending failed.
bool sdNotify(const QByteArray &state);
// The watchdog interval systemd wants (WatchdogSec=, as $WATCHDOG_USEC for this process), in
// milliseconds; 0 when there is none. Keep-alives go out at half of it.
qint64 watchdogIntervalMs();

} // namespace herd::app
