#include "options.h"
#include "herd.h"
#include "nodelog.h"

#include <QDir>

#include <algorithm>

namespace herd::app {

ServerOptions::ServerOptions()
    : configOpt(QStringLiteral("config"),
                QStringLiteral("Herd config file (JSON). Default: the built-in five-node herd."), QStringLiteral("FILE")),
      nodeOpt(QStringLiteral("node"),
              QStringLiteral("Host only this node (repeatable); the others run elsewhere."), QStringLiteral("NAME")),
      printConfigOpt(QStringLiteral("print-config"), QStringLiteral("Print the effective config as JSON and exit.")),
      statsOpt(QStringLiteral("stats-interval"),
               QStringLiteral("Headless: seconds between per-node stats lines on stdout (0: none). Default 10."),
               QStringLiteral("SECONDS"), QStringLiteral("10")),
      threadsOpt(QStringLiteral("threads"),
                 QStringLiteral("Headless: network threads; the hosted nodes are shared out among them. Default 1."),
                 QStringLiteral("N"), QStringLiteral("1")),
      logFormatOpt(QStringLiteral("log-format"),
                   QStringLiteral("Diagnostics on stderr as \"text\" (default; journald-friendly when not on a terminal) "
                                  "or \"json\" (one object per line). Filter with QT_LOGGING_RULES."),
                   QStringLiteral("FORMAT"), QStringLiteral("text")),
      logLevelOpt(QStringLiteral("log-level"),
                  QStringLiteral("Every node's log file: \"io\" (every line), \"events\" (connections, links, errors, "
                                 "a summary a minute) or \"off\". Overrides the config. Default: io for the monitor, "
                                 "events headless."),
                  QStringLiteral("LEVEL"))
{
}

void ServerOptions::addTo(QCommandLineParser &parser) const
{
    parser.addOptions({configOpt, nodeOpt, printConfigOpt, statsOpt, threadsOpt, logFormatOpt, logLevelOpt});
}

QString ServerOptions::read(const QCommandLineParser &parser, bool headless)
{
    if (!parseLogFormat(parser.value(logFormatOpt), &logFormat))
        return QStringLiteral("--log-format: must be \"text\" or \"json\", not \"%1\"").arg(parser.value(logFormatOpt));
    if (!parser.positionalArguments().isEmpty())
        return QStringLiteral("unexpected argument \"%1\" (see --help)").arg(parser.positionalArguments().constFirst());

    if (parser.isSet(configOpt)) {
        QString error;
        auto loaded = HerdConfig::load(parser.value(configOpt), &error);
        if (!loaded)
            return error;
        config = *loaded;
    } else {
        config = HerdConfig::builtin();
    }
    if (parser.isSet(logLevelOpt)) {
        const QString level = parser.value(logLevelOpt);
        NodeLog::Level parsed;
        if (level.isEmpty() || !NodeLog::parseLevel(level, &parsed))
            return QStringLiteral("--log-level: must be \"io\", \"events\" or \"off\", not \"%1\"").arg(level);
        config.logLevel = level;
        for (NodeConfig &n : config.nodes)
            n.logLevel.clear();
    }
    hosted = parser.values(nodeOpt);
    if (const QString error = Herd::checkHosted(config, hosted); !error.isEmpty())
        return error;

    bool statsOk = false;
    const double statsSeconds = parser.value(statsOpt).toDouble(&statsOk);
    if (!statsOk || statsSeconds < 0 || statsSeconds > 86400 * 365)
        return QStringLiteral("--stats-interval: not a number of seconds: \"%1\"").arg(parser.value(statsOpt));
    statsIntervalMs = int(statsSeconds * 1000);

    bool threadsOk = false;
    const int threadsWanted = parser.value(threadsOpt).toInt(&threadsOk);
    if (!threadsOk || threadsWanted < 1 || threadsWanted > 64)
        return QStringLiteral("--threads: not a number of threads from 1 to 64: \"%1\"").arg(parser.value(threadsOpt));
    if (parser.isSet(threadsOpt) && !headless)
        return QStringLiteral("--threads: only with --headless (the monitor hosts its nodes in one network thread)");
    served = hosted.isEmpty() ? config.nodeNames() : hosted;
    threads = std::min<int>(threadsWanted, int(served.size()));
    if (threads > 1) {
        // Nodes of one Herd tell each other the port they got for port 0; across threads they
        // could not (like nodes in different processes, which need fixed ports too).
        for (const QString &name : std::as_const(served)) {
            const NodeConfig *n = config.node(name);
            if (n->port == 0 || n->statusPort == 0)
                return QStringLiteral("--threads: node \"%1\" has port 0; nodes in different threads need fixed ports").arg(name);
        }
    }
    return {};
}

QString monitorStateDir()
{
    QString base = qEnvironmentVariable("XDG_STATE_HOME");
    if (base.isEmpty() || !QDir::isAbsolutePath(base))   // the XDG rule: a relative value is ignored
        base = QDir::home().filePath(QStringLiteral(".local/state"));
    return QDir(base).filePath(QStringLiteral("herd"));
}

} // namespace herd::app
