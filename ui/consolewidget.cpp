#include "consolewidget.h"
#include "protocol.h"

#include <QAbstractItemView>
#include <QColor>
#include <QComboBox>
#include <QCompleter>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QJsonDocument>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QSettings>
#include <QStringListModel>
#include <QTcpSocket>
#include <QTextBlockFormat>
#include <QTextCharFormat>
#include <QTextCursor>
#include <QTextDocument>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>

namespace herd {

namespace {

const QString kHistoryKey = QStringLiteral("console/history");
const QString kClientKey = QStringLiteral("console/iamatClient");
const QString kLocationKey = QStringLiteral("console/iamatLocation");
const QString kDefaultLocation = QStringLiteral("+34.068930-118.445127");   // UCLA, the protocol's classic example

QString defaultClient()
{
    QString user = qEnvironmentVariable("USER");
    if (user.isEmpty())
        user = qEnvironmentVariable("LOGNAME");
    // A client ID is one field: no white space, never empty.
    user.remove(QRegularExpression(QStringLiteral("\\s")));
    return QStringLiteral("console-") + (user.isEmpty() ? QStringLiteral("user") : user);
}

// The first field, split as the node splits it (space, tab, CR, FF, VT).
QByteArrayView firstField(QByteArrayView line)
{
    QByteArrayView fields[1];
    return protocol::splitFields(line, fields, 1) > 0 ? fields[0] : QByteArrayView();
}

} // namespace

ConsoleWidget::ConsoleWidget(QWidget *parent)
    : QWidget(parent)
    , m_nodeCombo(new QComboBox(this))
    , m_output(new QPlainTextEdit(this))
    , m_input(new QLineEdit(this))
    , m_iamatNow(new QPushButton(tr("IAMAT now"), this))
    , m_send(new QPushButton(tr("Send"), this))
    , m_completer(new QCompleter(this))
    , m_commandWords(new QStringListModel({QStringLiteral("IAMAT"), QStringLiteral("WHATSAT")}, this))
    , m_clientWords(new QStringListModel(this))
    , m_settings(new QSettings(this))
{
    m_nodeCombo->setObjectName(QStringLiteral("nodeCombo"));
    m_nodeCombo->setToolTip(tr("The node to send commands to"));
    m_nodeCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_output->setObjectName(QStringLiteral("output"));
    m_input->setObjectName(QStringLiteral("commandLine"));
    m_iamatNow->setObjectName(QStringLiteral("iamatNowButton"));
    m_send->setObjectName(QStringLiteral("sendButton"));

    const QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_output->setReadOnly(true);
    m_output->setFont(mono);
    m_output->setMaximumBlockCount(kMaxOutputBlocks);
    // Long lines (a WHATSAT's JSON, a 2 KiB bad line) wrap rather than run off the pane; a
    // token with no space in it wraps anywhere.
    m_output->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    m_output->setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    m_output->setContextMenuPolicy(Qt::CustomContextMenu);
    m_output->setUndoRedoEnabled(false);                  // a log: no undo stack growing forever
    m_input->setFont(mono);
    m_input->setPlaceholderText(tr("IAMAT <client> <location> <time>  or  WHATSAT <client> <radius-km> <bound>"));
    m_input->setClearButtonEnabled(true);
    m_iamatNow->setToolTip(tr("Fill in an IAMAT for the console's client at the last location, timed now"));
    m_send->setToolTip(tr("Send the command to the selected node (Enter)"));
    m_send->setDefault(true);

    auto *top = new QHBoxLayout;
    auto *nodeLabel = new QLabel(tr("&Node:"), this);
    nodeLabel->setBuddy(m_nodeCombo);
    top->addWidget(nodeLabel);
    top->addWidget(m_nodeCombo);
    top->addStretch(1);
    auto *clearButton = new QPushButton(tr("Clear"), this);
    clearButton->setObjectName(QStringLiteral("clearButton"));
    clearButton->setToolTip(tr("Clear the output pane (connections stay open)"));
    top->addWidget(clearButton);
    connect(clearButton, &QPushButton::clicked, this, &ConsoleWidget::clear);
    connect(m_output, &QWidget::customContextMenuRequested, this, [this](const QPoint &pos) {
        std::unique_ptr<QMenu> menu(m_output->createStandardContextMenu(pos));
        menu->addSeparator();
        menu->addAction(tr("Clear"), this, &ConsoleWidget::clear);
        menu->exec(m_output->viewport()->mapToGlobal(pos));
    });
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_input, 1);
    bottom->addWidget(m_iamatNow);
    bottom->addWidget(m_send);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(m_output, 1);
    layout->addLayout(bottom);

    // Per-word completion (the command word, then a client ID), so the completer is attached
    // to the line edit by setWidget() rather than QLineEdit::setCompleter(), which would
    // complete the whole line.
    m_completer->setWidget(m_input);
    m_completer->setModel(m_commandWords);
    m_completer->setCaseSensitivity(Qt::CaseInsensitive);
    m_completer->setCompletionMode(QCompleter::PopupCompletion);
    connect(m_completer, qOverload<const QString &>(&QCompleter::activated), this, &ConsoleWidget::insertCompletion);
    connect(m_input, &QLineEdit::textEdited, this, &ConsoleWidget::updateCompletion);
    connect(m_input, &QLineEdit::returnPressed, this, [this] {
        // With the popup open, Enter picks the completion (the completer hands the key to the
        // line edit first, which is why it arrives here at all).
        if (!m_completer->popup()->isVisible())
            submit();
    });
    connect(m_send, &QPushButton::clicked, this, &ConsoleWidget::submit);
    connect(m_iamatNow, &QPushButton::clicked, this, &ConsoleWidget::fillIamatNow);
    m_input->installEventFilter(this);   // Up / Down: history

    m_history = m_settings->value(kHistoryKey).toStringList();
    if (m_history.size() > kMaxHistory)
        m_history = m_history.mid(m_history.size() - kMaxHistory);
    m_historyPos = int(m_history.size());
    m_iamatClient = m_settings->value(kClientKey, defaultClient()).toString();
    m_iamatLocation = m_settings->value(kLocationKey, kDefaultLocation).toString();
    setFocusProxy(m_input);
}

ConsoleWidget::~ConsoleWidget()
{
    // The sockets die after this body (in ~QWidget) and abort() as they go, emitting
    // disconnected/errors into handlers that would use members already destroyed.
    for (const Session &s : std::as_const(m_sessions)) {
        if (s.socket)
            s.socket->disconnect(this);
    }
}

void ConsoleWidget::setNodes(const QList<QPair<QString, QPair<QString, quint16>>> &nodes)
{
    const QString current = selectedNode();
    QHash<QString, QPair<QString, quint16>> addresses;
    {
        const QSignalBlocker blocker(m_nodeCombo);
        m_nodeCombo->clear();
        for (const auto &[name, address] : nodes) {
            addresses.insert(name, address);
            m_nodeCombo->addItem(name);
            m_nodeCombo->setItemData(m_nodeCombo->count() - 1,
                                     address.second ? QStringLiteral("%1:%2").arg(address.first).arg(address.second)
                                                    : tr("not listening"),
                                     Qt::ToolTipRole);
        }
        const int keep = m_nodeCombo->findText(current);
        if (keep >= 0)
            m_nodeCombo->setCurrentIndex(keep);
    }
    // A node gone or moved (restarted on another port): its connection points nowhere useful.
    const QStringList connected = m_sessions.keys();
    for (const QString &node : connected) {
        const Session &s = m_sessions[node];
        const auto it = addresses.constFind(node);
        if (it == addresses.cend() || it->first != s.host || it->second != s.port)
            dropSession(node);
    }
    m_addresses = addresses;
}

void ConsoleWidget::selectNode(const QString &name)
{
    const int i = m_nodeCombo->findText(name);
    if (i >= 0)
        m_nodeCombo->setCurrentIndex(i);
}

QString ConsoleWidget::selectedNode() const
{
    return m_nodeCombo->currentText();
}

QString ConsoleWidget::transcript() const
{
    return m_output->toPlainText();
}

void ConsoleWidget::submit()
{
    const QString text = m_input->text();
    m_input->clear();
    sendCommand(text);
    m_input->setFocus();
}

void ConsoleWidget::sendCommand(const QString &line)
{
    QString text = line;
    while (text.endsWith(QLatin1Char('\n')) || text.endsWith(QLatin1Char('\r')))
        text.chop(1);
    // A blank line gets no reply: sending it would only leave a FIFO slot that
    // nothing fills.
    if (protocol::parse(text.toUtf8()).kind == protocol::Kind::Blank)
        return;
    addToHistory(text);
    const QString node = selectedNode();
    if (node.isEmpty()) {
        appendText(tr("no node to send to"), Style::Note);
        return;
    }
    // Pasted text with several lines: several commands, each with its own reply.
    const QStringList lines = text.split(QLatin1Char('\n'));
    for (const QString &one : lines) {
        if (protocol::parse(one.toUtf8()).kind != protocol::Kind::Blank)
            sendOne(node, one);
    }
}

void ConsoleWidget::sendOne(const QString &node, const QString &line)
{
    const QByteArray bytes = line.toUtf8();
    const auto address = m_addresses.value(node);
    if (address.second == 0) {
        appendText(node + QStringLiteral(" > ") + line, Style::Sent);
        appendText(tr("%1 is not listening: not sent").arg(node), Style::Note);
        return;
    }
    auto it = m_sessions.find(node);
    if (it == m_sessions.end()) {
        Session s;
        s.host = address.first;
        s.port = address.second;
        it = m_sessions.insert(node, s);
    }
    Session &s = *it;
    if (!s.socket) {
        s.socket = new QTcpSocket(this);
        QTcpSocket *socket = s.socket;
        connect(socket, &QTcpSocket::connected, this, [this, node, socket] { onConnected(node, socket); });
        connect(socket, &QTcpSocket::readyRead, this, [this, node, socket] { onReadyRead(node, socket); });
        connect(socket, &QTcpSocket::errorOccurred, this, [this, node, socket] { onError(node, socket); });
    }
    const QAbstractSocket::SocketState state = s.socket->state();
    if (state == QAbstractSocket::ClosingState || state == QAbstractSocket::BoundState) {
        s.socket->abort();   // half-way through a close: start over
        s.buffer.clear();
        s.expectMulti.clear();
        s.unsent.clear();
    }

    appendText(node + QStringLiteral(" > ") + line, Style::Sent);
    const protocol::Message m = protocol::parse(bytes);
    if (m.kind == protocol::Kind::Iamat) {
        // "IAMAT now" offers what was used last.
        m_iamatClient = QString::fromUtf8(m.client);
        m_iamatLocation = QString::fromUtf8(m.location);
        m_settings->setValue(kClientKey, m_iamatClient);
        m_settings->setValue(kLocationKey, m_iamatLocation);
    }
    // A WHATSAT reply runs to a blank line, unless it is "? ..." (decided when it arrives);
    // everything else is answered with one line.
    s.expectMulti.push_back(firstField(bytes) == QByteArrayView("WHATSAT"));
    if (s.socket->state() == QAbstractSocket::ConnectedState) {
        s.socket->write(bytes + '\n');
    } else {
        s.unsent.append(bytes + '\n');
        if (s.socket->state() == QAbstractSocket::UnconnectedState)
            connectSession(node, s);
    }
}

void ConsoleWidget::connectSession(const QString &node, Session &s)
{
    const int attempt = ++s.attempt;
    QTcpSocket *socket = s.socket;
    socket->connectToHost(s.host, s.port);
    QTimer::singleShot(kConnectTimeoutMs, socket, [this, node, socket, attempt] {
        Session *current = session(node, socket);
        if (!current || current->attempt != attempt || socket->state() == QAbstractSocket::ConnectedState
            || socket->state() == QAbstractSocket::UnconnectedState)
            return;
        socket->abort();
        failSession(node, *current, tr("no answer in %1 s").arg(kConnectTimeoutMs / 1000));
    });
}

ConsoleWidget::Session *ConsoleWidget::session(const QString &node, QTcpSocket *socket)
{
    // A socket's queued signal may outlive its session (node moved): then it is not ours.
    const auto it = m_sessions.find(node);
    return it != m_sessions.end() && it->socket == socket ? &*it : nullptr;
}

void ConsoleWidget::dropSession(const QString &node)
{
    const auto it = m_sessions.find(node);
    if (it == m_sessions.end())
        return;
    if (!it->expectMulti.empty())
        appendText(tr("%1 moved: %n command(s) not answered", nullptr, int(it->expectMulti.size())).arg(node), Style::Note);
    if (QTcpSocket *socket = it->socket) {
        socket->disconnect(this);
        socket->abort();
        socket->deleteLater();   // it may have events queued
    }
    m_sessions.erase(it);
}

void ConsoleWidget::onConnected(const QString &node, QTcpSocket *socket)
{
    Session *s = session(node, socket);
    if (!s)
        return;
    for (const QByteArray &line : std::as_const(s->unsent))
        socket->write(line);
    s->unsent.clear();
}

void ConsoleWidget::onReadyRead(const QString &node, QTcpSocket *socket)
{
    Session *s = session(node, socket);
    if (!s)
        return;
    s->buffer.append(socket->readAll());
    for (;;) {
        const qsizetype newline = s->buffer.indexOf('\n');
        if (newline < 0)
            break;
        const bool multi = !s->expectMulti.empty() && s->expectMulti.front() && !s->buffer.startsWith("? ");
        qsizetype end = newline + 1;
        if (multi) {
            const qsizetype blank = s->buffer.indexOf("\n\n");
            if (blank < 0)
                break;
            end = blank + 2;
        }
        const QByteArray reply = s->buffer.left(end);
        s->buffer.remove(0, end);
        if (!s->expectMulti.empty())
            s->expectMulti.pop_front();
        showReply(node, reply, multi);
        Q_EMIT replyReceived(node, reply);
        s = session(node, socket);   // a receiver may have changed the nodes
        if (!s)
            return;
    }
    if (s->buffer.size() > kMaxReplyBytes) {
        socket->abort();
        failSession(node, *s, tr("reply over %1 MiB with no end: connection dropped").arg(kMaxReplyBytes >> 20));
    }
}

void ConsoleWidget::onError(const QString &node, QTcpSocket *socket)
{
    Session *s = session(node, socket);
    if (!s)
        return;
    if (socket->bytesAvailable() > 0)   // what arrived before the close is still an answer
        onReadyRead(node, socket);
    if (!(s = session(node, socket)))
        return;
    if (socket->error() == QAbstractSocket::RemoteHostClosedError && s->expectMulti.empty()) {
        // Nothing was pending: a node closes connections that stay idle. Not a failure.
        appendText(tr("%1 (%2:%3): closed the connection, nothing was pending (a node closes idle connections); "
                      "the next command opens a new one").arg(node, s->host).arg(s->port), Style::Info);
        s->buffer.clear();
        s->unsent.clear();
        return;
    }
    failSession(node, *s, socket->error() == QAbstractSocket::RemoteHostClosedError
                              ? tr("connection closed by the node") : socket->errorString());
}

void ConsoleWidget::failSession(const QString &node, Session &s, const QString &why)
{
    // One grey line per failure; commands in flight will never be answered on this connection.
    QString text = tr("%1 (%2:%3): %4").arg(node, s.host).arg(s.port).arg(why);
    if (!s.expectMulti.empty())
        text += tr("; %n command(s) not answered", nullptr, int(s.expectMulti.size()));
    appendText(text, Style::Note);
    s.buffer.clear();
    s.expectMulti.clear();
    s.unsent.clear();
}

void ConsoleWidget::showReply(const QString &node, const QByteArray &reply, bool multi)
{
    QByteArray body = reply;
    while (body.endsWith('\n'))
        body.chop(1);
    if (!multi) {
        learnClient(body);
        appendText(node + QStringLiteral(" < ") + QString::fromUtf8(body),
                   body.startsWith("? ") ? Style::Invalid : Style::Reply);
        return;
    }
    // "AT ...\n{json}": the AT line as is, the JSON indented under it.
    const qsizetype newline = body.indexOf('\n');
    const QByteArray atLine = newline < 0 ? body : body.left(newline);
    const QByteArray json = newline < 0 ? QByteArray() : body.mid(newline + 1);
    learnClient(atLine);
    QString text = node + QStringLiteral(" < ") + QString::fromUtf8(atLine);
    if (!json.isEmpty()) {
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(json, &error);
        QByteArray pretty = error.error == QJsonParseError::NoError ? doc.toJson(QJsonDocument::Indented) : json;
        while (pretty.endsWith('\n'))
            pretty.chop(1);
        const QList<QByteArray> lines = pretty.split('\n');
        for (const QByteArray &l : lines)
            text += QStringLiteral("\n  ") + QString::fromUtf8(l);
    }
    appendText(text, Style::Reply);
}

void ConsoleWidget::learnClient(QByteArrayView atLine)
{
    const protocol::Message m = protocol::parse(atLine);
    if (m.kind != protocol::Kind::At)
        return;
    const QString client = QString::fromUtf8(m.client);
    if (m_clients.contains(client))
        return;
    m_clients.append(client);
    if (m_clients.size() > kMaxKnownClients)
        m_clients.removeFirst();
    m_clientWords->setStringList(m_clients);
}

QColor ConsoleWidget::colour(Style style)
{
    switch (style) {
    case Style::Invalid: return QColor(0xc6, 0x28, 0x28);   // the tables' "down" red
    case Style::Note:
    case Style::Info: return QColor(0x75, 0x75, 0x75);      // grey: about the connection, not from the node
    case Style::Sent:
    case Style::Reply: break;
    }
    return {};   // the palette's text colour (light or dark theme alike)
}

void ConsoleWidget::appendText(const QString &text, Style style)
{
    QScrollBar *bar = m_output->verticalScrollBar();
    const bool follow = bar->value() == bar->maximum();   // keep reading where the user scrolled to
    QTextCharFormat format;
    if (const QColor c = colour(style); c.isValid())
        format.setForeground(c);
    QTextCursor cursor(m_output->document());
    cursor.movePosition(QTextCursor::End);
    if (!m_output->document()->isEmpty())
        cursor.insertBlock(QTextBlockFormat(), format);
    cursor.insertText(text, format);   // "\n" in text starts new blocks, same format
    if (follow)
        bar->setValue(bar->maximum());
}

void ConsoleWidget::clear()
{
    m_output->clear();
}

void ConsoleWidget::fillIamatNow()
{
    const protocol::Timestamp now = protocol::now();
    m_input->setText(QStringLiteral("IAMAT %1 %2 %3.%4")
                         .arg(m_iamatClient, m_iamatLocation)
                         .arg(now.sec)
                         .arg(now.nsec, 9, 10, QLatin1Char('0')));
    m_input->setFocus();
    m_input->end(false);
}

void ConsoleWidget::addToHistory(const QString &line)
{
    if (m_history.isEmpty() || m_history.constLast() != line) {
        m_history.append(line);
        if (m_history.size() > kMaxHistory)
            m_history.removeFirst();
        m_settings->setValue(kHistoryKey, m_history);
    }
    m_historyPos = int(m_history.size());
    m_draft.clear();
}

void ConsoleWidget::recallHistory(int step)
{
    const int size = int(m_history.size());
    const int pos = std::clamp(m_historyPos + step, 0, size);
    if (pos == m_historyPos)
        return;
    if (m_historyPos == size)
        m_draft = m_input->text();   // coming back down past the newest restores it
    m_historyPos = pos;
    m_input->setText(pos == size ? m_draft : m_history.at(pos));
}

bool ConsoleWidget::eventFilter(QObject *watched, QEvent *event)
{
    // With the completion popup open it has the keyboard, so Up/Down only get here without it.
    if (watched == m_input && event->type() == QEvent::KeyPress) {
        const auto *key = static_cast<QKeyEvent *>(event);
        if (key->key() == Qt::Key_Up || key->key() == Qt::Key_Down) {
            recallHistory(key->key() == Qt::Key_Up ? -1 : 1);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void ConsoleWidget::updateCompletion(const QString &text)
{
    QAbstractItemView *popup = m_completer->popup();
    const int cursor = m_input->cursorPosition();
    int start = cursor;
    while (start > 0 && !text.at(start - 1).isSpace())
        --start;
    const QString prefix = text.mid(start, cursor - start);
    // Only at the end of a word, and only for the fields that have candidates: the command
    // word, then the client ID.
    const qsizetype field = QStringView(text).left(start).split(QLatin1Char(' '), Qt::SkipEmptyParts).size();
    if (prefix.isEmpty() || field > 1 || (cursor < text.size() && !text.at(cursor).isSpace())) {
        popup->hide();
        return;
    }
    QStringListModel *model = field == 0 ? m_commandWords : m_clientWords;
    if (m_completer->model() != model)
        m_completer->setModel(model);
    m_completer->setCompletionPrefix(prefix);
    if (m_completer->completionCount() == 0
        || (m_completer->completionCount() == 1 && m_completer->currentCompletion() == prefix)) {
        popup->hide();
        return;
    }
    m_completer->complete();
}

void ConsoleWidget::insertCompletion(const QString &completion)
{
    const QString text = m_input->text();
    const int cursor = m_input->cursorPosition();
    int start = cursor;
    while (start > 0 && !text.at(start - 1).isSpace())
        --start;
    // One space after the word: typed already (completing inside the line) or added here.
    QString rest = text.mid(cursor);
    if (!rest.startsWith(QLatin1Char(' ')))
        rest.prepend(QLatin1Char(' '));
    m_input->setText(text.left(start) + completion + rest);
    m_input->setCursorPosition(start + int(completion.size()) + 1);
}

} // namespace herd
