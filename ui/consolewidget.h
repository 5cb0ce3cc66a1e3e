#pragma once
#include <QByteArray>
#include <QHash>
#include <QList>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QWidget>
#include <deque>

class QColor;
class QComboBox;
class QCompleter;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSettings;
class QStringListModel;
class QTcpSocket;

namespace herd {

// Talk to a node the way a client does: a command typed here goes over a real TCP connection
// to the node's port (one persistent connection per node, reconnected on demand, never a
// blocking wait), and the reply comes back into the output pane, WHATSAT JSON pretty-printed.
class ConsoleWidget final : public QWidget {
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(ConsoleWidget)
public:
    static constexpr int kMaxHistory = 200;              // commands kept in QSettings
    static constexpr int kMaxOutputBlocks = 20000;       // lines in the pane; the oldest go first
    static constexpr int kMaxKnownClients = 1000;        // client IDs offered for completion
    static constexpr qsizetype kMaxReplyBytes = 4 << 20; // a "reply" with no end: drop the connection
    static constexpr int kConnectTimeoutMs = 5000;       // a host that never answers the SYN

    explicit ConsoleWidget(QWidget *parent = nullptr);
    ~ConsoleWidget() override;

    // The nodes the console can talk to: name -> host:port (ports known once nodes listen; call
    // again when they change). A node whose address changed is reconnected at its next command.
    void setNodes(const QList<QPair<QString, QPair<QString, quint16>>> &nodes);
    void selectNode(const QString &name);
    QString selectedNode() const;
    void sendCommand(const QString &line);     // as if typed and Enter pressed
    QString transcript() const;               // plain text of the output pane (for tests)
    // Each line tagged with its node ("Hill > IAMAT ...", "Hill < AT ..."); long lines wrap.
    QPlainTextEdit *output() const { return m_output; }

public Q_SLOTS:
    void clear();                             // the output pane; connections stay

Q_SIGNALS:
    // Each complete reply, raw and with its terminator: a line ("...\n"), or a WHATSAT reply
    // up to and including its blank line ("AT ...\n{...}\n\n").
    void replyReceived(const QString &node, const QByteArray &reply);

private:
    enum class Style { Sent, Reply, Invalid, Note, Info };

    // One node's connection. Replies come back in command order (a node answers in order), so a FIFO of what
    // each command sent expects is enough to cut the byte stream into replies.
    struct Session {
        QString host;
        quint16 port = 0;
        QTcpSocket *socket = nullptr;   // child of this
        QByteArray buffer;              // received, not yet a complete reply
        std::deque<bool> expectMulti;   // per command in flight: a WHATSAT (ends at a blank line)
        QList<QByteArray> unsent;       // lines typed while connecting
        int attempt = 0;                // which connectToHost a timeout belongs to
    };

    bool eventFilter(QObject *watched, QEvent *event) override;

    void submit();
    void sendOne(const QString &node, const QString &line);
    void fillIamatNow();
    void addToHistory(const QString &line);
    void recallHistory(int step);
    void updateCompletion(const QString &text);
    void insertCompletion(const QString &completion);
    void learnClient(QByteArrayView atLine);

    Session *session(const QString &node, QTcpSocket *socket);
    void connectSession(const QString &node, Session &s);
    void dropSession(const QString &node);
    void onConnected(const QString &node, QTcpSocket *socket);
    void onReadyRead(const QString &node, QTcpSocket *socket);
    void onError(const QString &node, QTcpSocket *socket);
    void failSession(const QString &node, Session &s, const QString &why);
    void showReply(const QString &node, const QByteArray &reply, bool multi);

    void appendText(const QString &text, Style style);
    static QColor colour(Style style);

    QComboBox *m_nodeCombo;
    QPlainTextEdit *m_output;
    QLineEdit *m_input;
    QPushButton *m_iamatNow;
    QPushButton *m_send;
    QCompleter *m_completer;
    QStringListModel *m_commandWords;   // IAMAT, WHATSAT
    QStringListModel *m_clientWords;    // client IDs seen in replies
    // Long-lived, so writes are saved once per event-loop turn rather than a file rewrite
    // (and fsync) per command, as a temporary QSettings would on destruction.
    QSettings *m_settings;

    QHash<QString, QPair<QString, quint16>> m_addresses;   // node -> host:port
    QHash<QString, Session> m_sessions;
    QStringList m_history;
    int m_historyPos = 0;               // m_history.size(): past the newest, editing m_draft
    QString m_draft;                    // what was being typed before Up
    QStringList m_clients;
    QString m_iamatClient;              // for "IAMAT now": the last client used
    QString m_iamatLocation;            // and the last location used
};

} // namespace herd
