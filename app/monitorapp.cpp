#include "monitorapp.h"
#include "clienttablemodel.h"
#include "demotraffic.h"
#include "logging.h"
#include "mainwindow.h"
#include "mapview.h"
#include "remoteherd.h"

#include <QApplication>
#include <QLoggingCategory>
#include <QTimer>

Q_LOGGING_CATEGORY(lcHerdGui, "herd.gui")

namespace herd::app {

MonitorOptions::MonitorOptions()
    : screenshotOpt(QStringLiteral("screenshot"),
                    QStringLiteral("Monitor: once every hosted link is up, save a picture of the window to FILE and exit."),
                    QStringLiteral("FILE")),
      demoOpt(QStringLiteral("demo"),
              QStringLiteral("Monitor: simulated phones report to the herd over TCP, something to watch.")),
      connectOpt(QStringLiteral("connect"),
                 QStringLiteral("Monitor: watch a herd running elsewhere through the status endpoint of any of its nodes\n"
                                "(host:port or http://host:port/), instead of hosting one."),
                 QStringLiteral("URL"))
{
}

void MonitorOptions::addTo(QCommandLineParser &parser) const
{
    parser.addOptions({screenshotOpt, demoOpt, connectOpt});
}

QString MonitorOptions::read(const QCommandLineParser &parser, const ServerOptions &server,
                             const QCommandLineOption &headless)
{
    demo = parser.isSet(demoOpt);
    screenshotFile = parser.value(screenshotOpt);
    if (!parser.isSet(connectOpt))
        return {};
    QList<QCommandLineOption> excluded{headless};
    excluded += server.hostingOptions();
    excluded += demoOpt;
    for (const QCommandLineOption &other : std::as_const(excluded)) {
        if (parser.isSet(other))
            return QStringLiteral("--connect cannot be combined with --%1").arg(other.names().constFirst());
    }
    remoteUrl = RemoteHerd::endpointUrl(parser.value(connectOpt));
    if (!remoteUrl.isValid())
        return QStringLiteral("--connect: not a status endpoint address (host:port or http://host:port/): \"%1\"")
            .arg(parser.value(connectOpt));
    return {};
}

int runMonitor(QApplication *app, const ServerOptions &server, const MonitorOptions &monitor)
{
    HerdConfig config = server.config;
    const QStringList &hosted = server.hosted;
    MainWindow window;
    window.setFilesDir(monitorStateDir());   // relative log_dir / state_dir: not the working directory
    if (monitor.remoteUrl.isValid())
        window.connectRemote(monitor.remoteUrl);
    else
        window.loadHerd(config, hosted);
    window.show();
    DemoTraffic demo;
    if (monitor.demo) {
        QList<QPair<QString, QPair<QString, quint16>>> nodes;
        for (const NodeConfig &n : std::as_const(config.nodes)) {
            if (hosted.isEmpty() || hosted.contains(n.name))
                nodes.append({n.name, {n.host, n.port}});
        }
        demo.setNodes(nodes);
        demo.start();
    }
    if (!monitor.screenshotFile.isEmpty()) {
        // Once every link is up (and, with --demo, the map has clients), picture and exit.
        const QString file = monitor.screenshotFile;
        const bool wantClients = monitor.demo;
        QObject::connect(&window, &MainWindow::batchShown, &window, [&window, file, wantClients](const MonitorBatchPtr &batch) {
            if (batch->stats.isEmpty())
                return;
            for (const NodeStats &s : batch->stats) {
                if (!s.running)
                    return;
                for (const LinkInfo &l : s.links) {
                    if (!l.up || l.stats.acksReceived < 2)
                        return;
                }
            }
            if (wantClients && window.clientModel()->rowCount() < 8)
                return;
            if (window.clientModel()->rowCount() > 0 && window.map()->dotCount() == 0)
                return;   // clients known (e.g. a remote herd's), not on the map yet
            // Once: let the layouts that batch changed (status bar, tables) settle first.
            QObject::disconnect(&window, &MainWindow::batchShown, &window, nullptr);
            QTimer::singleShot(300, &window, [&window, file] {
                if (!window.grab().save(file))
                    printError(QStringLiteral("cannot save %1").arg(file));
                else
                    qCInfo(lcHerdGui, "screenshot saved to %s", qPrintable(file));
                QCoreApplication::quit();
            });
        });
    }
    return app->exec();
}

} // namespace herd::app
