#pragma once
// The command-line options the monitor and the server share, read and checked before any
// application object exists: a bad option or config is one line on stderr, with or without a
// display.
#include "config.h"
#include "logging.h"

#include <QCommandLineOption>
#include <QCommandLineParser>
#include <QStringList>

namespace herd::app {

class ServerOptions {
public:
    ServerOptions();
    void addTo(QCommandLineParser &parser) const;
    // Reads and checks the values; returns a one-line error, or empty. `headless`: the nodes run
    // without the monitor (--threads is allowed, the log level defaults to "events").
    QString read(const QCommandLineParser &parser, bool headless);
    // The options the monitor cannot combine with --connect.
    QList<QCommandLineOption> hostingOptions() const { return {configOpt, nodeOpt, printConfigOpt}; }

    const QCommandLineOption configOpt;
    const QCommandLineOption nodeOpt;
    const QCommandLineOption printConfigOpt;
    const QCommandLineOption statsOpt;
    const QCommandLineOption threadsOpt;
    const QCommandLineOption logFormatOpt;
    const QCommandLineOption logLevelOpt;

    // Filled by read().
    HerdConfig config;
    QStringList hosted;       // --node values (empty: every node)
    QStringList served;       // the nodes this process runs
    int threads = 1;
    int statsIntervalMs = 10000;
    LogFormat logFormat = LogFormat::Text;
};

// Where the monitor keeps its files: $XDG_STATE_HOME/herd, else ~/.local/state/herd.
QString monitorStateDir();

} // namespace herd::app
