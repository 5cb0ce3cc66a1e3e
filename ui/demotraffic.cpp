#include "demotraffic.h"
#include "protocol.h"

#include <QTcpSocket>
#include <QTimer>
#include <cmath>
#include <cstdio>
#include <numbers>

namespace herd {

namespace {
// Starting points: campuses and city centres the bundled offline places cover.
struct Start {
    const char *name;
    double lat;
    double lng;
};
constexpr Start kStarts[] = {
    {"kiwi.cs.ucla.edu", 34.068930, -118.445127},  {"bruin.phone", 34.0722, -118.4441},
    {"santa-monica.tablet", 34.0100, -118.4960},   {"downtown-la.car", 34.0522, -118.2437},
    {"sydney.opera", -33.8568, 151.2153},          {"london.bus", 51.5074, -0.1278},
    {"tokyo.train", 35.6812, 139.7671},            {"nyc.cab", 40.7580, -73.9855},
    {"sf.cable-car", 37.7946, -122.3999},          {"pasadena.bike", 34.1478, -118.1445},
};
} // namespace

DemoTraffic::DemoTraffic(QObject *parent)
    : QObject(parent), m_timer(new QTimer(this))
{
    for (const Start &s : kStarts)
        m_walkers.append(Walker{QString::fromLatin1(s.name), s.lat, s.lng, 0.0});
    connect(m_timer, &QTimer::timeout, this, &DemoTraffic::tick);
}

void DemoTraffic::setNodes(const QList<QPair<QString, QPair<QString, quint16>>> &nodes)
{
    if (nodes == m_nodes)
        return;
    m_nodes = nodes;
    qDeleteAll(m_sockets);
    m_sockets = QList<QTcpSocket *>(nodes.size(), nullptr);
}

void DemoTraffic::start(int intervalMs)
{
    m_timer->start(intervalMs);
}

void DemoTraffic::stop()
{
    m_timer->stop();
}

QTcpSocket *DemoTraffic::socketFor(int node)
{
    QTcpSocket *&socket = m_sockets[node];
    if (socket && socket->state() == QAbstractSocket::UnconnectedState) {
        socket->deleteLater();
        socket = nullptr;
    }
    if (!socket) {
        socket = new QTcpSocket(this);
        // Replies are not needed: read and drop them so the node never sees a stalled reader.
        connect(socket, &QTcpSocket::readyRead, socket, [socket] { socket->readAll(); });
        socket->connectToHost(m_nodes[node].second.first, m_nodes[node].second.second);
    }
    return socket;
}

void DemoTraffic::tick()
{
    if (m_nodes.isEmpty())
        return;
    auto random = [this] {   // xorshift: reproducible walks, no global state
        m_seed ^= m_seed << 13;
        m_seed ^= m_seed >> 17;
        m_seed ^= m_seed << 5;
        return double(m_seed) / 4294967296.0;
    };
    Walker &w = m_walkers[int(random() * m_walkers.size()) % m_walkers.size()];
    w.heading += (random() - 0.5) * 0.8;
    constexpr double kStepDegrees = 0.0015;   // ~150 m per report
    w.lat = std::clamp(w.lat + std::cos(w.heading) * kStepDegrees, -89.0, 89.0);
    w.lng += std::sin(w.heading) * kStepDegrees;
    const int node = int(random() * m_nodes.size()) % int(m_nodes.size());
    QTcpSocket *socket = socketFor(node);
    const protocol::Timestamp now = protocol::now();
    char location[48];
    std::snprintf(location, sizeof location, "%+.6f%+.6f", w.lat, w.lng);
    const QByteArray time = QByteArray::number(now.sec) + '.' + QByteArray::number(now.nsec).rightJustified(9, '0');
    QByteArray lines = "IAMAT " + w.name.toUtf8() + ' ' + QByteArray(location) + ' ' + time + '\n';
    if (random() < 0.15)
        lines += "WHATSAT " + w.name.toUtf8() + " 5 3\n";
    socket->write(lines);
}

} // namespace herd
