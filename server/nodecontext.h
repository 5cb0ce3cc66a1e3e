#pragma once
// What the parts of one node share: its configuration and name, its counters, the location
// store and journal, the log, the monitor's event stream, and the line being handled now. It
// also says things on the node's behalf: a line sent to a session, an event, an error, each to
// the log and the monitor alike.
#include "config.h"
#include "journal.h"
#include "locationstore.h"
#include "nodelog.h"
#include "protocol.h"
#include "stats.h"

#include <QByteArray>
#include <QLoggingCategory>
#include <QString>
#include <functional>

// Debug output is off by default (per connection / per update would flood stderr); turn it on
// with QT_LOGGING_RULES="herd.net.debug=true;herd.flood.debug=true". The per-node log files
// record everything regardless.
Q_DECLARE_LOGGING_CATEGORY(lcHerdNet)
Q_DECLARE_LOGGING_CATEGORY(lcHerdPeer)
Q_DECLARE_LOGGING_CATEGORY(lcHerdFlood)

namespace herd {

class EventStream;
class Session;
enum class LineKind : quint8;

class NodeContext {
    Q_DISABLE_COPY_MOVE(NodeContext)
public:
    NodeContext(const HerdConfig &config, const QString &name);

    const HerdConfig config;
    const QString name;
    const QByteArray nameBytes;
    NodeStats counters;
    LocationStore store;
    NodeLog log;
    Journal journal;
    EventStream *events = nullptr;   // nullptr: nobody watches, at no cost
    // Asks for Node::afterBatch once control is back in the event loop.
    std::function<void()> scheduleAfterBatch;

    // While a received line is handled: when it was read (one clock read for all it causes),
    // the same in ms since the epoch (-1 outside a line), and what it turned out to be.
    protocol::Timestamp lineTime;
    qint64 lineMs = -1;
    LineKind inKind{};
    // Receive time of what is handled now: the line's, or the clock's outside a line.
    protocol::Timestamp receivedAt() const { return lineMs >= 0 ? lineTime : protocol::now(); }

    // `text` + "\n" to `s`, counted, logged and shown to the monitor as `kind`.
    void sendTo(Session &s, QByteArrayView text, LineKind kind);
    // A reply that was held back (WHATSAT after Places) logged and shown; sending it is the
    // caller's (into its reserved place).
    void logReply(const QByteArray &who, QByteArrayView text, LineKind kind);
    void event(QByteArrayView who, LineKind kind, const QString &text);   // log file + monitor
    void error(QByteArrayView who, const QString &text);
    // A line a client sent that is not a command: answered "? <line>".
    void invalid(Session &s, QByteArrayView line);
};

} // namespace herd
