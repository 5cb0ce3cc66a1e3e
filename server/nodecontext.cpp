#include "nodecontext.h"
#include "monitor.h"
#include "session.h"

Q_LOGGING_CATEGORY(lcHerdNet, "herd.net", QtInfoMsg)
Q_LOGGING_CATEGORY(lcHerdPeer, "herd.peer")
Q_LOGGING_CATEGORY(lcHerdFlood, "herd.flood", QtInfoMsg)

namespace herd {

NodeContext::NodeContext(const HerdConfig &config_, const QString &name_)
    : config(config_)
    , name(name_)
    , nameBytes(name_.toUtf8())
{
}

void NodeContext::sendTo(Session &s, QByteArrayView text, LineKind kind)
{
    ++counters.linesOut;
    log.line(NodeLog::Dir::Out, s.label(), text, lineMs);
    if (events)
        events->line(name, Direction::Out, kind, s.label(), text);
    s.connection().sendLine(text);
}

void NodeContext::logReply(const QByteArray &who, QByteArrayView text, LineKind kind)
{
    ++counters.linesOut;
    log.line(NodeLog::Dir::Out, who, text, lineMs);
    if (events)
        events->line(name, Direction::Out, kind, who, text);
}

void NodeContext::event(QByteArrayView who, LineKind kind, const QString &text)
{
    log.event(who, text, lineMs);
    if (events)
        events->line(name, Direction::Event, kind, who.toByteArray(), text.toUtf8());
}

void NodeContext::error(QByteArrayView who, const QString &text)
{
    log.error(who, text, lineMs);
    if (events)
        events->line(name, Direction::Event, LineKind::Error, who.toByteArray(), text.toUtf8());
}

void NodeContext::invalid(Session &s, QByteArrayView line)
{
    ++counters.invalid;
    ++counters.invalidLines;
    QByteArray out;
    out.reserve(line.size() + 2);
    out.append("? ", 2).append(line);
    inKind = LineKind::Invalid;
    sendTo(s, out, LineKind::Invalid);
}

} // namespace herd
