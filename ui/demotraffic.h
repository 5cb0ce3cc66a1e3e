#pragma once
#include <QList>
#include <QObject>
#include <QPair>
#include <QString>

class QTcpSocket;
class QTimer;

namespace herd {

// A few simulated phones walking around real cities, each reporting to a random node of the
// herd over real TCP (IAMAT every `intervalMs`) and now and then asking WHATSAT: something to
// watch in the monitor (herd --demo). Runs in the GUI thread; all I/O is asynchronous.
class DemoTraffic final : public QObject {
    Q_OBJECT
public:
    explicit DemoTraffic(QObject *parent = nullptr);

    // Nodes to talk to: name -> (host, port).
    void setNodes(const QList<QPair<QString, QPair<QString, quint16>>> &nodes);
    void start(int intervalMs = 400);
    void stop();

private:
    struct Walker {
        QString name;
        double lat;
        double lng;
        double heading;   // radians
    };
    void tick();
    QTcpSocket *socketFor(int node);

    QList<QPair<QString, QPair<QString, quint16>>> m_nodes;
    QList<QTcpSocket *> m_sockets;
    QList<Walker> m_walkers;
    QTimer *m_timer;
    quint32 m_seed = 12345;
};

} // namespace herd
