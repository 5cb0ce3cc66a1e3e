#pragma once
// Running the nodes as a plain server (herd --headless, herd-server): Qt Core + Network only.
#include "options.h"

class QCoreApplication;

namespace herd::app {

// Lifts the soft descriptor limit to the hard one: thousands of connections need more than 1024.
void raiseFileLimit();

// SIGINT and SIGTERM quit the event loop (so nodes stop and logs flush: exit code 0); with
// `reopenOnHangup`, SIGHUP reopens every node's log file (after an outside rotation) instead of
// ending the process. The handlers only write to a socket pair; the work happens in the event loop.
void installSignalHandlers(QCoreApplication *app, bool reopenOnHangup);

// Runs the nodes until a signal stops them; tells systemd when every node listens (READY=1),
// when stopping (STOPPING=1) and, when it asks for a watchdog, that every network thread's event
// loop still turns (WATCHDOG=1). Returns the exit code: 1 when a node cannot start.
int runHeadless(QCoreApplication *app, const ServerOptions &options);

} // namespace herd::app
