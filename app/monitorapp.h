#pragma once
// The monitor (Qt Widgets): its own options and its run.
#include "options.h"

#include <QUrl>

class QApplication;

namespace herd::app {

class MonitorOptions {
public:
    MonitorOptions();
    void addTo(QCommandLineParser &parser) const;
    // Checks the monitor's options (--connect excludes hosting); returns a one-line error, or empty.
    QString read(const QCommandLineParser &parser, const ServerOptions &server, const QCommandLineOption &headless);

    const QCommandLineOption screenshotOpt;
    const QCommandLineOption demoOpt;
    const QCommandLineOption connectOpt;

    QUrl remoteUrl;          // --connect, when given
    QString screenshotFile;  // --screenshot
    bool demo = false;
};

int runMonitor(QApplication *app, const ServerOptions &server, const MonitorOptions &monitor);

} // namespace herd::app
