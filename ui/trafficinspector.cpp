#include "trafficinspector.h"
#include "trafficmodel.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QFileDialog>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenu>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QMessageBox>
#include <QSaveFile>
#include <QScopedValueRollback>
#include <QScrollBar>
#include <QTableView>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

namespace herd {

namespace {

// 200 ms: re-filtering 50,000 rows on every keystroke would stutter; this is below the pause
// between words when typing.
constexpr int kTextFilterDelayMs = 200;
constexpr qsizetype kExportChunkBytes = 1 << 20;   // written to the file in 1 MiB pieces

// RFC 4180: a field with a comma, a double quote or a line break is quoted, its quotes doubled.
QByteArray csvField(const QString &value)
{
    QByteArray bytes = value.toUtf8();
    if (!bytes.contains(',') && !bytes.contains('"') && !bytes.contains('\n') && !bytes.contains('\r'))
        return bytes;
    bytes.replace('"', QByteArrayLiteral("\"\""));
    return '"' + bytes + '"';
}

QString isoTime(qint64 timeUs)
{
    const QDateTime local = QDateTime::fromMSecsSinceEpoch(timeUs / 1000);
    // With the UTC offset, so an exported file means the same anywhere.
    return local.toOffsetFromUtc(local.offsetFromUtc()).toString(Qt::ISODateWithMs);
}

} // namespace

TrafficInspector::TrafficInspector(QWidget *parent)
    : QWidget(parent),
      m_model(new TrafficModel(this)),
      m_proxy(new TrafficFilterProxy(this)),
      m_view(new QTableView(this)),
      m_nodeCombo(new QComboBox(this)),
      m_kindCombo(new QComboBox(this)),
      m_clientEdit(new QLineEdit(this)),
      m_textEdit(new QLineEdit(this)),
      m_expressionEdit(new QLineEdit(this)),
      m_kindsButton(new QToolButton(this)),
      m_details(new QPlainTextEdit(this)),
      m_pauseButton(new QToolButton(this)),
      m_pausedLabel(new QLabel(this)),
      m_followLabel(new QLabel(this)),
      m_stopFollowButton(new QToolButton(this)),
      m_statusLabel(new QLabel(this)),
      m_textDebounce(new QTimer(this))
{
    m_proxy->setSourceModel(m_model);

    // Filter bar.
    m_nodeCombo->setObjectName(QStringLiteral("nodeFilter"));
    m_nodeCombo->setToolTip(tr("Show the lines of one node only"));
    m_nodeCombo->addItem(tr("All nodes"));
    m_nodeCombo->setSizeAdjustPolicy(QComboBox::AdjustToContents);

    m_kindCombo->setObjectName(QStringLiteral("kindFilter"));
    m_kindCombo->setToolTip(tr("Show one kind of line only"));
    m_kindCombo->addItem(tr("All kinds"), -1);
    for (int k = int(LineKind::Iamat); k <= int(LineKind::Blank); ++k)
        m_kindCombo->addItem(lineKindName(LineKind(k)), k);

    m_clientEdit->setObjectName(QStringLiteral("clientFilter"));
    m_clientEdit->setPlaceholderText(tr("Client"));
    m_clientEdit->setToolTip(tr("Lines whose client ID (in IAMAT, WHATSAT and AT lines) contains this"));
    m_clientEdit->setClearButtonEnabled(true);

    m_textEdit->setObjectName(QStringLiteral("textFilter"));
    m_textEdit->setPlaceholderText(tr("Search text"));
    m_textEdit->setToolTip(tr("Lines or peers containing this, ignoring case (escapes such as \\n as shown)"));
    m_textEdit->setClearButtonEnabled(true);

    // Kinds to show, several at once (the combo picks one): heartbeats hidden is the usual.
    m_kindsButton->setObjectName(QStringLiteral("kindsButton"));
    m_kindsButton->setText(tr("Kinds"));
    m_kindsButton->setToolTip(tr("Show or hide kinds of lines (e.g. hide heartbeats)"));
    m_kindsButton->setPopupMode(QToolButton::InstantPopup);
    auto *kindsMenu = new QMenu(m_kindsButton);
    for (int k = int(LineKind::Iamat); k <= int(LineKind::Blank); ++k) {
        QAction *a = kindsMenu->addAction(lineKindName(LineKind(k)));
        a->setCheckable(true);
        a->setChecked(true);
        a->setData(k);
        connect(a, &QAction::toggled, this, [this, kindsMenu] {
            quint32 hidden = 0;
            for (const QAction *x : kindsMenu->actions())
                if (x->isCheckable() && !x->isChecked())
                    hidden |= 1u << x->data().toInt();
            m_proxy->setHiddenKinds(hidden);
            m_kindsButton->setText(hidden ? tr("Kinds (%1 hidden)").arg(qPopulationCount(hidden)) : tr("Kinds"));
            scrollToTailIfFollowing();
        });
    }
    kindsMenu->addSeparator();
    connect(kindsMenu->addAction(tr("Hide heartbeats and handshakes")), &QAction::triggered, this, [this] {
        setHiddenKinds((1u << int(LineKind::Heartbeat)) | (1u << int(LineKind::Handshake)));
    });
    connect(kindsMenu->addAction(tr("Show all kinds")), &QAction::triggered, this, [this] { setHiddenKinds(0); });
    m_kindsButton->setMenu(kindsMenu);

    m_expressionEdit->setObjectName(QStringLiteral("expressionFilter"));
    m_expressionEdit->setPlaceholderText(tr("Filter: node:Hill kind:iamat,flood -kind:heartbeat client:kiwi dir:in word"));
    m_expressionEdit->setToolTip(tr("Every term must hold; a leading - negates one. Keys: node, kind, client, dir (in, "
                                    "out, event); other words search the line and the peer. Quote a phrase: \"a b\"."));
    m_expressionEdit->setClearButtonEnabled(true);

    auto *clearButton = new QToolButton(this);
    clearButton->setObjectName(QStringLiteral("clearFilters"));
    clearButton->setText(tr("Clear"));
    clearButton->setToolTip(tr("Clear every filter and stop following a connection"));

    m_pauseButton->setObjectName(QStringLiteral("pauseButton"));
    m_pauseButton->setCheckable(true);
    m_pauseButton->setText(tr("Pause"));
    m_pauseButton->setToolTip(tr("Freeze the view; the nodes keep running and new lines are kept for later"));

    auto *exportButton = new QToolButton(this);
    exportButton->setObjectName(QStringLiteral("exportButton"));
    exportButton->setText(tr("Export…"));
    exportButton->setToolTip(tr("Save the lines the filter shows"));
    exportButton->setPopupMode(QToolButton::InstantPopup);
    auto *exportMenu = new QMenu(exportButton);
    connect(exportMenu->addAction(tr("CSV…")), &QAction::triggered, this, [this] { exportWithDialog(true); });
    connect(exportMenu->addAction(tr("JSON Lines…")), &QAction::triggered, this, [this] { exportWithDialog(false); });
    exportButton->setMenu(exportMenu);

    auto *bar = new QHBoxLayout;
    bar->addWidget(m_nodeCombo);
    bar->addWidget(m_kindCombo);
    bar->addWidget(m_kindsButton);
    bar->addWidget(m_clientEdit, 1);
    bar->addWidget(m_textEdit, 2);
    bar->addWidget(clearButton);
    bar->addSpacing(12);
    bar->addWidget(m_pauseButton);
    bar->addWidget(exportButton);

    // Shown only while following a connection.
    m_followLabel->setObjectName(QStringLiteral("followLabel"));
    m_followLabel->setTextFormat(Qt::PlainText);
    m_stopFollowButton->setObjectName(QStringLiteral("stopFollowing"));
    m_stopFollowButton->setText(tr("Stop following"));
    auto *followBar = new QHBoxLayout;
    followBar->addWidget(m_followLabel, 1);
    followBar->addWidget(m_stopFollowButton);

    // The table: everything that would touch all 50,000 rows is off (no row resizing to
    // contents, no sorting); row heights are fixed so only visible rows are ever asked for.
    m_view->setObjectName(QStringLiteral("trafficView"));
    m_view->setModel(m_proxy);
    m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_view->setSortingEnabled(false);
    m_view->setWordWrap(false);
    m_view->setShowGrid(false);
    m_view->setTextElideMode(Qt::ElideRight);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    // Per item: the scrollbar value is the top row, which eviction compensation relies on.
    m_view->setVerticalScrollMode(QAbstractItemView::ScrollPerItem);
    m_view->setHorizontalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    QHeaderView *rows = m_view->verticalHeader();
    rows->hide();
    rows->setSectionResizeMode(QHeaderView::Fixed);
    rows->setMinimumSectionSize(1);
    rows->setDefaultSectionSize(m_view->fontMetrics().height() + 4);
    QHeaderView *columns = m_view->horizontalHeader();
    columns->setHighlightSections(false);
    columns->setSectionResizeMode(QHeaderView::Interactive);
    columns->setStretchLastSection(true);
    const QFontMetrics fm = m_view->fontMetrics();
    m_view->setColumnWidth(TrafficModel::Time, fm.horizontalAdvance(QStringLiteral("00:00:00.000")) + 16);
    m_view->setColumnWidth(TrafficModel::Node, fm.horizontalAdvance(QStringLiteral("Singleton")) + 16);
    m_view->setColumnWidth(TrafficModel::Direction, fm.horizontalAdvance(QStringLiteral("event")) + 16);
    m_view->setColumnWidth(TrafficModel::Peer, fm.horizontalAdvance(QStringLiteral("client#123 127.0.0.1:54321")) + 16);
    m_view->setColumnWidth(TrafficModel::Kind, fm.horizontalAdvance(QStringLiteral("WHATSAT reply")) + 16);

    m_pausedLabel->setObjectName(QStringLiteral("pausedLabel"));
    QFont bold = m_pausedLabel->font();
    bold.setBold(true);
    m_pausedLabel->setFont(bold);
    m_pausedLabel->hide();
    m_statusLabel->setObjectName(QStringLiteral("statusLabel"));
    auto *statusBar = new QHBoxLayout;
    statusBar->addWidget(m_pausedLabel);
    statusBar->addStretch(1);
    statusBar->addWidget(m_statusLabel);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(bar);
    layout->addLayout(followBar);
    layout->addWidget(m_expressionEdit);
    // The selected row in full below the table.
    m_details->setObjectName(QStringLiteral("trafficDetails"));
    m_details->setReadOnly(true);
    m_details->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_details->setPlaceholderText(tr("Select a line to see it in full (a WHATSAT reply with its JSON laid out)"));
    m_details->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->setObjectName(QStringLiteral("trafficSplit"));
    split->addWidget(m_view);
    split->addWidget(m_details);
    split->setStretchFactor(0, 4);
    split->setStretchFactor(1, 1);
    split->setChildrenCollapsible(true);
    layout->addWidget(split, 1);
    layout->addLayout(statusBar);

    // Copy works from the keyboard too, not only from the context menu.
    auto *copyAction = new QAction(tr("Copy line"), m_view);
    copyAction->setShortcut(QKeySequence::Copy);
    copyAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
    m_view->addAction(copyAction);
    connect(copyAction, &QAction::triggered, this, [this] { copyRows(false); });

    m_textDebounce->setSingleShot(true);
    m_textDebounce->setInterval(kTextFilterDelayMs);
    connect(m_textDebounce, &QTimer::timeout, this, &TrafficInspector::applyTextFilters);
    connect(m_clientEdit, &QLineEdit::textChanged, m_textDebounce, qOverload<>(&QTimer::start));
    connect(m_textEdit, &QLineEdit::textChanged, m_textDebounce, qOverload<>(&QTimer::start));
    connect(m_clientEdit, &QLineEdit::returnPressed, this, &TrafficInspector::applyTextFilters);
    connect(m_textEdit, &QLineEdit::returnPressed, this, &TrafficInspector::applyTextFilters);
    connect(m_expressionEdit, &QLineEdit::textChanged, m_textDebounce, qOverload<>(&QTimer::start));
    connect(m_expressionEdit, &QLineEdit::returnPressed, this, &TrafficInspector::applyTextFilters);
    connect(m_view->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &TrafficInspector::showDetails);
    connect(m_nodeCombo, &QComboBox::currentIndexChanged, this, &TrafficInspector::applyComboFilters);
    connect(m_kindCombo, &QComboBox::currentIndexChanged, this, &TrafficInspector::applyComboFilters);
    connect(clearButton, &QToolButton::clicked, this, &TrafficInspector::clearFilters);
    connect(m_stopFollowButton, &QToolButton::clicked, this, [this] { followConnection({}, {}); });
    connect(m_pauseButton, &QToolButton::toggled, this, &TrafficInspector::setPaused);
    connect(m_view, &QWidget::customContextMenuRequested, this, &TrafficInspector::showContextMenu);

    // Follow the tail unless the user scrolled away from the bottom; our own moves don't count.
    QScrollBar *vbar = m_view->verticalScrollBar();
    connect(vbar, &QScrollBar::valueChanged, this, [this, vbar](int value) {
        if (!m_scrolling)
            m_followTail = value >= vbar->maximum();
    });
    // Rows evicted above a user reading older lines would slide the text under their eyes:
    // move the scrollbar up by as many rows, so the same lines stay in view.
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, [this, vbar](const QModelIndex &, int first, int last) {
        if (m_followTail || first != 0)
            return;
        const QScopedValueRollback guard(m_scrolling, true);
        vbar->setValue(std::max(0, vbar->value() - (last - first + 1)));
    });

    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(m_proxy, signal, this, &TrafficInspector::updateStatus);
    connect(m_proxy, &QAbstractItemModel::modelReset, this, &TrafficInspector::updateStatus);
    connect(m_proxy, &QAbstractItemModel::layoutChanged, this, &TrafficInspector::updateStatus);
    connect(m_model, &TrafficModel::droppedChanged, this, &TrafficInspector::updateStatus);

    updateFollowBar();
    updateStatus();
}

void TrafficInspector::appendBatch(const QList<TrafficRow> &rows, quint64 droppedUpstream)
{
    if (m_paused) {
        m_newWhilePaused += quint64(rows.size());
        m_heldDropped += droppedUpstream;
        m_held.append(rows);
        // Held rows are bounded like the model: more than it can show would be evicted anyway.
        const qsizetype overflow = m_held.size() - m_model->capacity();
        if (overflow > 0) {
            m_held.remove(0, overflow);   // from the front: QList just moves its begin
            m_heldDropped += quint64(overflow);
        }
        updateStatus();
        return;
    }
    if (rows.isEmpty() && droppedUpstream == 0)
        return;   // most batches of an idle herd
    m_model->appendBatch(rows, droppedUpstream);
    scrollToTailIfFollowing();
}

void TrafficInspector::setPaused(bool paused)
{
    if (paused == m_paused)
        return;
    m_paused = paused;
    {
        const QSignalBlocker blocker(m_pauseButton);
        m_pauseButton->setChecked(paused);
    }
    m_pauseButton->setText(paused ? tr("Resume") : tr("Pause"));
    if (!paused) {
        const QList<TrafficRow> held = std::exchange(m_held, {});
        const quint64 dropped = std::exchange(m_heldDropped, 0);
        m_newWhilePaused = 0;
        if (!held.isEmpty() || dropped != 0)
            m_model->appendBatch(held, dropped);
        scrollToTailIfFollowing();
    }
    updateStatus();
    Q_EMIT pausedChanged(paused);
}

void TrafficInspector::clear()
{
    m_held.clear();
    m_heldDropped = 0;
    m_newWhilePaused = 0;
    m_model->clear();
    m_proxy->setFollow({}, {});
    updateFollowBar();
    updateStatus();
}

void TrafficInspector::setNodes(const QStringList &nodes)
{
    const QString current = m_proxy->nodeFilter();
    {
        const QSignalBlocker blocker(m_nodeCombo);
        m_nodeCombo->clear();
        m_nodeCombo->addItem(tr("All nodes"));
        for (const QString &node : nodes)
            m_nodeCombo->addItem(node, node);
        const int index = current.isEmpty() ? 0 : m_nodeCombo->findData(current);
        m_nodeCombo->setCurrentIndex(std::max(index, 0));
    }
    applyComboFilters();   // a node that went away no longer filters
}

void TrafficInspector::followConnection(const QString &node, const QByteArray &who)
{
    m_proxy->setFollow(node, who);
    updateFollowBar();
    scrollToTailIfFollowing();
}

void TrafficInspector::clearFilters()
{
    {
        const QSignalBlocker b1(m_nodeCombo), b2(m_kindCombo), b3(m_clientEdit), b4(m_textEdit);
        m_nodeCombo->setCurrentIndex(0);
        m_kindCombo->setCurrentIndex(0);
        m_clientEdit->clear();
        m_textEdit->clear();
    }
    m_textDebounce->stop();
    {
        const QSignalBlocker b5(m_expressionEdit);
        m_expressionEdit->clear();
        m_expressionEdit->setStyleSheet(QString());
    }
    setHiddenKinds(0);
    m_proxy->clearFilters();
    updateFollowBar();
    scrollToTailIfFollowing();
}

void TrafficInspector::applyTextFilters()
{
    m_textDebounce->stop();
    applyExpression();
    m_proxy->setClientFilter(m_clientEdit->text().trimmed());
    m_proxy->setTextFilter(m_textEdit->text());
    scrollToTailIfFollowing();
}

void TrafficInspector::applyExpression()
{
    QString error;
    const bool ok = m_proxy->setExpression(m_expressionEdit->text(), &error);
    // A term not understood: the field says so and the last good filter stays.
    m_expressionEdit->setStyleSheet(ok ? QString() : QStringLiteral("QLineEdit { color: #c62828; }"));
    m_expressionEdit->setToolTip(ok ? tr("Every term must hold; a leading - negates one. Keys: node, kind, client, dir "
                                         "(in, out, event); other words search the line and the peer.")
                                    : error);
}

void TrafficInspector::addFilterTerm(const QString &term)
{
    const QString current = m_expressionEdit->text().trimmed();
    m_expressionEdit->setText(current.isEmpty() ? term : current + QLatin1Char(' ') + term);
    applyTextFilters();
}

void TrafficInspector::setHiddenKinds(quint32 mask)
{
    for (QAction *a : m_kindsButton->menu()->actions()) {
        if (a->isCheckable()) {
            const QSignalBlocker blocker(a);
            a->setChecked(!(mask & (1u << a->data().toInt())));
        }
    }
    m_proxy->setHiddenKinds(mask);
    m_kindsButton->setText(mask ? tr("Kinds (%1 hidden)").arg(qPopulationCount(mask)) : tr("Kinds"));
    scrollToTailIfFollowing();
}

QString TrafficInspector::rowDetails(const TrafficRow &row)
{
    QString text = tr("%1 · %2 · %3 · %4 · %5\n")
                       .arg(isoTime(row.timeUs), row.node, directionName(row.dir), QString::fromUtf8(row.who),
                            lineKindName(row.kind));
    QByteArray body = row.text;
    while (body.endsWith('\n'))
        body.chop(1);
    const qsizetype newline = body.indexOf('\n');
    if (row.kind == LineKind::WhatsatReply && newline >= 0) {
        text += TrafficModel::escapeText(body.left(newline)) + QLatin1Char('\n');
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(body.mid(newline + 1), &error);
        text += error.error == QJsonParseError::NoError ? QString::fromUtf8(doc.toJson(QJsonDocument::Indented))
                                                        : QString::fromUtf8(body.mid(newline + 1));
        return text;
    }
    // Anything else: as it went over the wire, line by line, control bytes escaped.
    for (const QByteArray &line : body.split('\n'))
        text += TrafficModel::escapeText(line) + QLatin1Char('\n');
    return text;
}

void TrafficInspector::showDetails()
{
    const QModelIndex current = m_view->currentIndex();
    if (!current.isValid()) {
        m_details->clear();
        return;
    }
    const int source = m_proxy->mapToSource(current).row();
    m_details->setPlainText(rowDetails(m_model->row(source)));
}

void TrafficInspector::applyComboFilters()
{
    m_proxy->setNodeFilter(m_nodeCombo->currentData().toString());
    const int kind = m_kindCombo->currentData().toInt();
    m_proxy->setKindFilter(kind < 0 ? std::nullopt : std::optional<LineKind>(LineKind(kind)));
    scrollToTailIfFollowing();
}

void TrafficInspector::updateFollowBar()
{
    const bool following = m_proxy->isFollowing();
    m_followLabel->setVisible(following);
    m_stopFollowButton->setVisible(following);
    if (following)
        m_followLabel->setText(tr("Following %1 on %2")
                                   .arg(QString::fromUtf8(m_proxy->followWho()), m_proxy->followNode()));
}

void TrafficInspector::updateStatus()
{
    const QLocale locale;
    const int shown = m_proxy->rowCount();
    const int total = m_model->rowCount();
    const quint64 dropped = m_model->droppedTotal();
    const QString rowsText = shown == total
        ? tr("%1 rows").arg(locale.toString(total))
        : tr("%1 of %2 rows").arg(locale.toString(shown), locale.toString(total));
    m_statusLabel->setText(tr("%1 · %2 dropped").arg(rowsText, locale.toString(dropped)));
    m_pausedLabel->setVisible(m_paused);
    if (m_paused)
        m_pausedLabel->setText(tr("Paused — %1 new").arg(locale.toString(m_newWhilePaused)));
}

void TrafficInspector::scrollToTailIfFollowing()
{
    if (!m_followTail || m_paused)
        return;
    const QScopedValueRollback guard(m_scrolling, true);
    m_view->scrollToBottom();
}

QMenu *TrafficInspector::createContextMenu(const QModelIndex &index)
{
    auto *menu = new QMenu(this);
    if (index.isValid()) {
        const QString node = index.data(TrafficModel::NodeRole).toString();
        const auto kind = LineKind(index.data(TrafficModel::KindRole).toInt());
        QString kindWord = lineKindName(kind).toLower();
        kindWord.remove(QLatin1Char(' '));
        const QByteArray client = index.data(TrafficModel::ClientRole).toByteArray();
        menu->addAction(tr("Filter on node %1").arg(node), this, [this, node] { addFilterTerm(QStringLiteral("node:") + node); });
        menu->addAction(tr("Filter on kind %1").arg(lineKindName(kind)), this,
                        [this, kindWord] { addFilterTerm(QStringLiteral("kind:") + kindWord); });
        menu->addAction(tr("Hide kind %1").arg(lineKindName(kind)), this,
                        [this, kind] { setHiddenKinds(m_proxy->hiddenKinds() | (1u << int(kind))); });
        if (!client.isEmpty()) {
            const QString c = QString::fromUtf8(client);
            const QString quoted = c.contains(QLatin1Char(' ')) ? QLatin1Char('"') + c + QLatin1Char('"') : c;
            menu->addAction(tr("Filter on client %1").arg(c), this, [this, quoted] { addFilterTerm(QStringLiteral("client:") + quoted); });
            menu->addAction(tr("Show propagation of %1").arg(c), this, [this, client] { Q_EMIT propagationRequested(client); });
        }
        menu->addSeparator();
    }
    QAction *follow = menu->addAction(tr("Follow this connection"), this, [this, index] {
        followConnection(index.data(TrafficModel::NodeRole).toString(), index.data(TrafficModel::WhoRole).toByteArray());
    });
    follow->setEnabled(index.isValid());
    QAction *stop = menu->addAction(tr("Stop following"), this, [this] { followConnection({}, {}); });
    stop->setEnabled(m_proxy->isFollowing());
    menu->addSeparator();
    const bool hasSelection = m_view->selectionModel()->hasSelection();
    QAction *copyLine = menu->addAction(tr("Copy line"), this, [this] { copyRows(false); });
    copyLine->setShortcut(QKeySequence::Copy);
    copyLine->setEnabled(hasSelection);
    QAction *copyRow = menu->addAction(tr("Copy row"), this, [this] { copyRows(true); });
    copyRow->setEnabled(hasSelection);
    return menu;
}

void TrafficInspector::showContextMenu(const QPoint &pos)
{
    std::unique_ptr<QMenu> menu(createContextMenu(m_view->indexAt(pos)));
    menu->exec(m_view->viewport()->mapToGlobal(pos));
}

// Lines: the selected lines as they went over the wire, one per line. Rows: every column as
// shown, tab-separated.
void TrafficInspector::copyRows(bool wholeRows) const
{
    QModelIndexList selected = m_view->selectionModel()->selectedRows();
    std::sort(selected.begin(), selected.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    QStringList lines;
    lines.reserve(selected.size());
    for (const QModelIndex &index : std::as_const(selected)) {
        if (!wholeRows) {
            lines.append(QString::fromUtf8(index.data(TrafficModel::RawTextRole).toByteArray()));
            continue;
        }
        QStringList cells;
        for (int c = 0; c < TrafficModel::ColumnCount; ++c) {
            const QModelIndex cell = index.siblingAtColumn(c);
            cells.append(c == TrafficModel::Text
                             ? TrafficModel::escapeText(cell.data(TrafficModel::RawTextRole).toByteArray())
                             : cell.data().toString());
        }
        lines.append(cells.join(QLatin1Char('\t')));
    }
    if (!lines.isEmpty())
        QApplication::clipboard()->setText(lines.join(QLatin1Char('\n')));
}

template<typename WriteRow>
bool TrafficInspector::exportRows(const QString &file, const QByteArray &header, WriteRow writeRow) const
{
    QSaveFile out(file);   // all or nothing: no half-written export left behind
    if (!out.open(QIODevice::WriteOnly)) {
        m_lastError = tr("Cannot write %1: %2").arg(file, out.errorString());
        return false;
    }
    QByteArray chunk = header;
    const int shown = m_proxy->rowCount();
    for (int r = 0; r < shown; ++r) {
        const int source = m_proxy->mapToSource(m_proxy->index(r, 0)).row();
        writeRow(chunk, m_model->row(source));
        if (chunk.size() >= kExportChunkBytes) {
            out.write(chunk);
            chunk.clear();
        }
    }
    out.write(chunk);
    if (!out.commit()) {
        m_lastError = tr("Cannot write %1: %2").arg(file, out.errorString());
        return false;
    }
    m_lastError.clear();
    return true;
}

bool TrafficInspector::exportCsv(const QString &file) const
{
    return exportRows(file, QByteArrayLiteral("time_us,time,node,direction,peer,kind,text\r\n"),
                      [](QByteArray &out, const TrafficRow &row) {
        out.append(QByteArray::number(row.timeUs)).append(',')
            .append(csvField(isoTime(row.timeUs))).append(',')
            .append(csvField(row.node)).append(',')
            .append(csvField(directionName(row.dir))).append(',')
            .append(csvField(QString::fromUtf8(row.who))).append(',')
            .append(csvField(lineKindName(row.kind))).append(',')
            .append(csvField(QString::fromUtf8(row.text))).append("\r\n");
    });
}

bool TrafficInspector::exportJsonLines(const QString &file) const
{
    return exportRows(file, {}, [](QByteArray &out, const TrafficRow &row) {
        const QJsonObject object{
            {QStringLiteral("time_us"), row.timeUs},   // exact: a JSON number holds 53 bits
            {QStringLiteral("node"), row.node},
            {QStringLiteral("direction"), directionName(row.dir)},
            {QStringLiteral("peer"), QString::fromUtf8(row.who)},
            {QStringLiteral("kind"), lineKindName(row.kind)},
            {QStringLiteral("text"), QString::fromUtf8(row.text)},
        };
        out.append(QJsonDocument(object).toJson(QJsonDocument::Compact)).append('\n');
    });
}

void TrafficInspector::exportWithDialog(bool csv)
{
    const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
    const QString file = QFileDialog::getSaveFileName(
        this, csv ? tr("Export traffic as CSV") : tr("Export traffic as JSON Lines"),
        QStringLiteral("traffic-%1.%2").arg(stamp, csv ? QStringLiteral("csv") : QStringLiteral("jsonl")),
        csv ? tr("CSV files (*.csv);;All files (*)") : tr("JSON Lines files (*.jsonl);;All files (*)"));
    if (file.isEmpty())
        return;
    if (!(csv ? exportCsv(file) : exportJsonLines(file)))
        QMessageBox::warning(this, tr("Export traffic"), m_lastError);
}

} // namespace herd
