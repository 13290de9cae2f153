"""The business is told of each analysed call: its settings (``settings``), the queued message
(``messages``), what it is told (``content``), the queuing after Retell's ``call_analyzed``
(``enqueue``), the sending of one channel (``sending``), and the queue's consumer and the test
delivery (``delivery``)."""
