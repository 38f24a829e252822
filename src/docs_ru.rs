//! The Russian man pages: the same clap commands and tables as `docs`, with
//! every English text looked up in [`RU`] (the English text is the key, as a
//! gettext msgid), and the section headings of Russian man pages. A unit test
//! fails when a text of `docs` has no translation.

use clap::Command;

/// English text -> Russian text.
pub static RU: &[(&str, &str)] = &[
    ("u7s manual", "руководство u7s"),
    ("see", "см."),
    ("the applet's own", "код апплета"),
    ("the applet's exit status", "код завершения апплета"),
    ("no applet or an unknown applet was named", "апплет не указан или неизвестен"),
    ("Print help", "показать справку"),
    ("Print help (see more with '--help')", "показать справку (подробнее: --help)"),
    ("Print version", "показать версию"),
    // u7s itself and the applet table
    ("rootless Kubernetes for ALT Linux podsec-k8s, as one multi-call binary",
     "rootless Kubernetes для ALT Linux podsec-k8s одним многофункциональным исполняемым файлом"),
    ("u7s runs Kubernetes with no root privileges: every control-plane and node process runs inside the user namespace of the system user u7s-admin, created by rootlesskit. It is one binary, /usr/libexec/podsec/u7s/bin/u7s, with a symlink per applet beside it; it picks the applet from the name it was started under (argv[0]), and u7s APPLET ARGS... reaches every applet without a symlink.\n\nAn administrator puts /usr/libexec/podsec/u7s/bin first on PATH and runs kubeadm init, kubeadm join and kubectl exactly as with upstream Kubernetes.",
     "u7s запускает Kubernetes без привилегий root: все процессы управляющего слоя и узла работают в пространстве имён пользователя системной учётной записи u7s-admin, которое создаёт rootlesskit. Это один исполняемый файл /usr/libexec/podsec/u7s/bin/u7s с символической ссылкой на каждый апплет рядом; апплет выбирается по имени, под которым файл запущен (argv[0]), а u7s АППЛЕТ АРГУМЕНТЫ... вызывает любой апплет без ссылки.\n\nАдминистратор ставит /usr/libexec/podsec/u7s/bin первым в PATH и запускает kubeadm init, kubeadm join и kubectl так же, как с обычным Kubernetes."),
    ("kubeadm wrapper: init/join for rootless clusters, everything else inside the namespaces",
     "обёртка kubeadm: init/join для rootless-кластеров, всё остальное — внутри пространств имён"),
    ("the real kubectl: root's on the host with its own checked kubeconfig, u7s-admin's inside its namespaces",
     "настоящий kubectl: у root — на хосте с его собственным проверенным kubeconfig, у u7s-admin — в его пространствах имён"),
    ("run a command (default $SHELL) inside the u7s-admin rootlesskit namespaces",
     "запуск команды (по умолчанию $SHELL) в пространствах имён rootlesskit пользователя u7s-admin"),
    ("the real rootlessctl on the u7s-admin rootlesskit API socket",
     "настоящий rootlessctl на API-сокете rootlesskit пользователя u7s-admin"),
    ("service role (u7s-admin): rootlesskit with the podsec setup inside, then COMMAND",
     "служебная роль (u7s-admin): rootlesskit с настройкой podsec внутри, затем КОМАНДА"),
    ("check the whole rootless stack; one line per check, with the fix",
     "проверка всего rootless-стека: по строке на проверку и способ исправить"),
    ("print an haproxy configuration balancing the API over the masters",
     "вывод конфигурации haproxy, распределяющей запросы к API по мастерам"),
    ("service role (rootlesskit child): write the rootless crio.conf, run the real crio",
     "служебная роль (дочерний процесс rootlesskit): записать rootless-файл crio.conf и запустить настоящий crio"),
    ("service role: the real kubelet inside the namespaces, with the rootless settings",
     "служебная роль: настоящий kubelet в пространствах имён с rootless-настройками"),
    ("second half of `kubelet`, already inside the namespaces",
     "вторая половина `kubelet`, уже внутри пространств имён"),
    ("service role: wait (bounded) until CRI-O answers on its socket",
     "служебная роль: ждать (ограниченное время), пока CRI-O не ответит на своём сокете"),
    ("service role (root): let u7s-admin's group use ping sockets (slirp4netns ICMP)",
     "служебная роль (root): разрешить группе u7s-admin ping-сокеты (ICMP в slirp4netns)"),
    ("service role (root): start|stop u7s.target in the u7s-admin user manager",
     "служебная роль (root): запуск и остановка u7s.target в пользовательском менеджере u7s-admin"),
    ("the applet's arguments", "аргументы апплета"),
    // wrappers
    ("the real tool's arguments, passed byte for byte (its own --help included)",
     "аргументы настоящей программы, передаются байт в байт (включая её собственный --help)"),
    ("kubeadm for rootless u7s clusters", "kubeadm для rootless-кластеров u7s"),
    ("kubeadm for rootless Kubernetes clusters of ALT Linux podsec-k8s. Run it as root, with the u7s bin folder first on PATH, exactly as upstream kubeadm.\n\nkubeadm init and kubeadm join take kubeadm's own flags: u7s rewrites them into a kubeadm configuration, prepares the host, starts the rootless stack of the u7s-admin user (rootlesskit, slirp4netns, cri-o, kubelet) and runs the real kubeadm inside its namespaces. --dry-run prints the settings, the configuration and the host steps and changes nothing. The help of init and join ends with a section on the variables u7s adds.\n\nHelp, version and completion run the real kubeadm directly. Every other subcommand (token, reset, certs, upgrade, ...) runs the real kubeadm inside the namespaces with the arguments byte for byte. -v N (0..9) also sets u7s's own verbosity.",
     "kubeadm для rootless-кластеров Kubernetes в ALT Linux podsec-k8s. Запускайте его от root, поставив каталог bin u7s первым в PATH, так же, как обычный kubeadm.\n\nkubeadm init и kubeadm join принимают собственные флаги kubeadm: u7s переводит их в конфигурацию kubeadm, готовит узел, запускает rootless-стек пользователя u7s-admin (rootlesskit, slirp4netns, cri-o, kubelet) и выполняет настоящий kubeadm в его пространствах имён. --dry-run выводит настройки, конфигурацию и шаги на узле и ничего не меняет. Справка init и join заканчивается разделом о переменных u7s.\n\nСправка, version и completion запускают настоящий kubeadm напрямую. Все остальные подкоманды (token, reset, certs, upgrade, ...) выполняют настоящий kubeadm в пространствах имён с аргументами байт в байт. -v N (0..9) задаёт и подробность сообщений самого u7s."),
    ("For root, runs the real kubectl on the host, as root, with root's own kubeconfig (/root/.kube/config, or what KUBECONFIG or --kubeconfig name), against the API endpoint in it: rootlesskit forwards that port from the host into the namespaces. So files by relative or absolute path, the working directory, -f -, -k, kubectl cp to local paths, kubectl edit with root's editor and the listeners of port-forward and proxy are root's and the host's, as with upstream Kubernetes. Before kubectl starts, everything it reads as configuration must be root's alone: every directory from / down owned by root and not writable by group or others, no symbolic link, the file root's too; and the kubeconfig may hold only servers, CA data, client certificates and keys, and names, the whitelist its copy was made under at init and join. exec, auth-provider, tokenFile, file paths and YAML merge keys are refused with one line naming the entry; for a kubeconfig you trust with them, run /usr/bin/kubectl yourself. Without /root/.kube/config it says how to get one (kubeadm init or join --control-plane writes it on a master; copy it to a worker); help, completion, kustomize, config and version work without one.\n\nFor u7s-admin, runs the real kubectl inside its user, mount, network, cgroup, pid, ipc and uts namespaces (uid 0 inside), with its own ~/.kube/config unless KUBECONFIG is set.\n\nThe arguments pass byte for byte and kubectl is exec'd, so its exit status and stdout are its own. -v N (0..9) also sets u7s's own verbosity.",
     "У root запускает настоящий kubectl на хосте, от root, с собственным kubeconfig root (/root/.kube/config или тем, что указано в KUBECONFIG или --kubeconfig), обращаясь к адресу API из него: rootlesskit пробрасывает этот порт с хоста в пространства имён. Поэтому файлы по относительному и абсолютному пути, рабочий каталог, -f -, -k, kubectl cp в локальные пути, kubectl edit с редактором root и порты, которые слушают port-forward и proxy, — это файлы root и порты хоста, как в обычном Kubernetes. Прежде чем kubectl запустится, всё, что он читает как настройки, должно принадлежать только root: каждый каталог от / вниз принадлежит root и недоступен на запись группе и остальным, символических ссылок нет, сам файл тоже принадлежит root; а в kubeconfig допустимы только адреса серверов, данные CA, клиентские сертификаты и ключи и имена — тот же белый список, по которому его копия собрана при init и join. exec, auth-provider, tokenFile, пути к файлам и ключи слияния YAML отклоняются одной строкой с названием записи; если kubeconfig с ними вам доверен, запускайте /usr/bin/kubectl сами. Без /root/.kube/config выводится, где его взять (на master-узле его пишет kubeadm init или join --control-plane; на рабочий узел его копируют); справка, completion, kustomize, config и version работают и без него.\n\nУ u7s-admin запускает настоящий kubectl в его пространствах имён user, mount, network, cgroup, pid, ipc и uts (внутри uid 0), с его собственным ~/.kube/config, если не задан KUBECONFIG.\n\nАргументы передаются байт в байт, а kubectl запускается через exec, поэтому код завершения и stdout — его собственные. -v N (0..9) задаёт и подробность сообщений самого u7s."),
    ("Runs the real rootlessctl with --socket $XDG_RUNTIME_DIR/usernetes/rootlesskit/api.sock of u7s-admin, followed by the arguments byte for byte; for example rootlessctl add-ports 0.0.0.0:30080:30080/tcp exposes a NodePort on the host. Usually run as u7s-admin, through nsenter_u7s.",
     "Запускает настоящий rootlessctl с --socket $XDG_RUNTIME_DIR/usernetes/rootlesskit/api.sock пользователя u7s-admin и аргументами байт в байт; например, rootlessctl add-ports 0.0.0.0:30080:30080/tcp открывает порт NodePort на узле. Обычно запускается от u7s-admin через nsenter_u7s."),
    // nsenter_u7s
    ("run a command inside the u7s-admin rootlesskit namespaces",
     "запуск команды в пространствах имён rootlesskit пользователя u7s-admin"),
    ("Runs COMMAND (default: $SHELL) inside the namespaces of the u7s-admin rootlesskit child: user, mount, network, cgroup, pid, ipc and uts. As u7s-admin the credentials are kept (uid 0 inside); as root the command runs as uid 0 inside, which is u7s-admin outside, with u7s-admin's HOME, USER and XDG_* variables. The working directory is kept (/ when it does not exist inside) and ROOTLESSKIT_STATE_DIR is exported.\n\nThe target is proven first: the pid in the state files must be a process of u7s-admin in a user namespace that u7s-admin created and that shares no namespace with the caller; the state files must be small regular files of u7s-admin, and no symbolic link in the state dir's path is followed. Otherwise nothing runs and the status is 1.\n\nA command root runs is kept apart from root's session: it gets a session of its own; a pseudo-terminal takes the place of each of stdin, stdout and stderr that is a terminal, relayed by nsenter_u7s (window size and keys included), so it cannot type into root's terminal; no file descriptor above 2; and of root's environment only PATH, TERM, COLORTERM, NO_COLOR, LANG, LANGUAGE, LC_*, TZ, KUBECONFIG, KUBE_EDITOR, EDITOR, VISUAL and U7S_*.\n\nOnly options before COMMAND are nsenter_u7s's own; everything from COMMAND on is the command's, options included.",
     "Запускает КОМАНДУ (по умолчанию $SHELL) в пространствах имён дочернего процесса rootlesskit пользователя u7s-admin: user, mount, network, cgroup, pid, ipc и uts. От u7s-admin учётные данные сохраняются (внутри uid 0); от root команда выполняется с uid 0 внутри, то есть как u7s-admin снаружи, с переменными HOME, USER и XDG_* пользователя u7s-admin. Рабочий каталог сохраняется (/, если внутри его нет), экспортируется ROOTLESSKIT_STATE_DIR.\n\nСначала цель проверяется: процесс из файлов состояния должен принадлежать u7s-admin, находиться в пространстве имён пользователя, созданном u7s-admin, и не делить ни одного пространства имён с вызывающим; файлы состояния должны быть небольшими обычными файлами u7s-admin, а символические ссылки в пути к каталогу состояния не разыменовываются. Иначе ничего не запускается, код завершения 1.\n\nКоманда, запущенная от root, отделена от сеанса root: она получает собственный сеанс; вместо каждого из stdin, stdout и stderr, который является терминалом, — псевдотерминал, который обслуживает nsenter_u7s (с размером окна и нажатиями клавиш), поэтому вводить символы в терминал root она не может; дескрипторов выше 2 нет; из окружения root передаются только PATH, TERM, COLORTERM, NO_COLOR, LANG, LANGUAGE, LC_*, TZ, KUBECONFIG, KUBE_EDITOR, EDITOR, VISUAL и U7S_*.\n\nСобственные параметры nsenter_u7s — только до КОМАНДЫ; всё, начиная с КОМАНДЫ, относится к команде, включая параметры."),
    ("verbosity of u7s's own messages on stderr, 0 to 9", "подробность собственных сообщений u7s в stderr, от 0 до 9"),
    ("the command and its arguments, passed untouched (default: $SHELL)",
     "команда и её аргументы, передаются без изменений (по умолчанию $SHELL)"),
    // rootlesskit role
    ("Runs the real rootlesskit with the podsec flags and sets up its namespaces for the rootless Kubernetes stack: bind mounts, the CNI plugins on /opt/cni/bin, the node role's port forwards and the recorded NodePorts, tap0's address, and the readiness file; then runs COMMAND inside (default: wait for a signal) and exits with its status. Run as u7s-admin, by the u7s-rootlesskit.service user unit.",
     "Запускает настоящий rootlesskit с флагами podsec и настраивает его пространства имён для rootless-стека Kubernetes: bind-монтирования, модули CNI в /opt/cni/bin, проброс портов роли узла и записанных NodePort, адрес tap0 и файл готовности; затем выполняет внутри КОМАНДУ (по умолчанию ждёт сигнала) и завершается с её кодом. Запускается от u7s-admin пользовательским юнитом u7s-rootlesskit.service."),
    ("the command to run inside, and its arguments (default: wait for a signal)",
     "команда, выполняемая внутри, и её аргументы (по умолчанию — ждать сигнала)"),
    // doctor
    ("check the whole rootless stack and say what is broken and how to fix it",
     "проверить весь rootless-стек и сказать, что сломано и как это исправить"),
    ("Checks the rootless stack in the order it is built and prints one line per check: [OK] Name: ..., [WARN] Name: ... or [ERROR Name] ... with the fix. The checks: u7s.service and the user manager of u7s-admin, lingering, cgroup delegation, newuidmap and newgidmap (ALT's control facility may restrict them to a group), the user units u7s-rootlesskit.service and u7s-kubelet.service, the rootlesskit child (its state files, and the proof that it is u7s-admin's), slirp4netns, CRI-O's socket and kubelet's health inside the namespaces, the ports forwarded to the host for the node's role, the node and its kube-system pods through kubectl (root's own ~/.kube/config, or u7s-admin's), and the expiry of the certificates in /etc/kubernetes.\n\nRun it as root or as u7s-admin. Root never follows a symlink of u7s-admin's and treats everything u7s-admin's processes answer as data. The journal commands it suggests work for root: systemd keeps the logs of a system user's user units in the system journal.",
     "Проверяет rootless-стек в том порядке, в каком он собирается, и выводит по строке на проверку: [OK] Имя: ..., [WARN] Имя: ... или [ERROR Имя] ... со способом исправить. Проверки: u7s.service и пользовательский менеджер u7s-admin, linger, делегирование cgroup, newuidmap и newgidmap (механизм control в ALT может разрешить их только группе), пользовательские юниты u7s-rootlesskit.service и u7s-kubelet.service, дочерний процесс rootlesskit (файлы состояния и доказательство того, что процесс принадлежит u7s-admin), slirp4netns, сокет CRI-O и здоровье kubelet внутри пространств имён, порты роли узла, проброшенные на хост, узел и его поды kube-system через kubectl (собственный ~/.kube/config root или u7s-admin) и срок действия сертификатов в /etc/kubernetes.\n\nЗапускайте от root или от u7s-admin. root никогда не переходит по символическим ссылкам u7s-admin и считает всё, что отвечают процессы u7s-admin, лишь данными. Предлагаемые команды journalctl работают от root: systemd хранит журналы пользовательских юнитов системного пользователя в системном журнале."),
    ("text (one line per check) or json (for scripts)", "text (по строке на проверку) или json (для сценариев)"),
    ("report these checks' errors as warnings (names as printed, or all), for a host where a known problem is accepted",
     "считать ошибки этих проверок предупреждениями (имена — как в выводе, или all) — для узла, где известная проблема допустима"),
    ("every check passed (warnings allowed)", "все проверки пройдены (предупреждения допустимы)"),
    ("a check failed: its [ERROR Name] line says what and how to fix it",
     "проверка не пройдена: строка [ERROR Имя] говорит, что не так и как это исправить"),
    ("a bad option, or run by someone other than root and u7s-admin",
     "неверный параметр или запуск не от root и не от u7s-admin"),
    ("absolute path of the real kubectl for the node and pod checks (default /usr/bin/kubectl)",
     "абсолютный путь настоящего kubectl для проверок узла и подов (по умолчанию /usr/bin/kubectl)"),
    // haproxy-config
    ("Print an haproxy configuration that balances the Kubernetes API over the masters",
     "Выводит конфигурацию haproxy, распределяющую запросы к API Kubernetes по мастерам"),
    ("A master's API server, HOST or HOST:PORT (port 6443 when omitted); repeat for each master",
     "API-сервер мастера, HOST или HOST:PORT (без порта — 6443); укажите для каждого мастера"),
    ("The port haproxy listens on", "порт, на котором слушает haproxy"),
    ("Print only the frontend and backend sections, to add to an existing haproxy.cfg",
     "вывести только разделы frontend и backend, чтобы добавить их в существующий haproxy.cfg"),
    ("the configuration was printed", "конфигурация выведена"),
    ("a bad or repeated --master, or a bad option", "неверный или повторный --master либо неверный параметр"),
    // generate-docs
    ("write the man pages and shell completions of u7s into OUTDIR",
     "записать man-страницы и дополнение для оболочек u7s в КАТАЛОГ"),
    ("Writes OUTDIR/man/man1/*.1, OUTDIR/man/ru/man1/*.1 (Russian), OUTDIR/completions/bash/u7s and OUTDIR/completions/zsh/_u7s, generated from the same command definitions the binary uses. A build step (make install runs it).",
     "Записывает OUTDIR/man/man1/*.1, OUTDIR/man/ru/man1/*.1, OUTDIR/completions/bash/u7s и OUTDIR/completions/zsh/_u7s, созданные из тех же описаний команд, которыми пользуется сама программа. Шаг сборки (его выполняет make install)."),
    ("the folder to write into (created if missing)", "каталог для записи (создаётся, если его нет)"),
    // preflight checks (kubeadm's page)
    ("kubeadm init and join run as root", "kubeadm init и join запущены от root"),
    ("the real tool is installed where u7s looks for it (kubeadm, kubelet, kubectl, crio, crun, conmon, rootlesskit, slirp4netns, ...)",
     "настоящая программа установлена там, где её ищет u7s (kubeadm, kubelet, kubectl, crio, crun, conmon, rootlesskit, slirp4netns, ...)"),
    ("newuidmap is installed, setuid root (or has file capabilities) and u7s-admin may run it: ALT's control newuidmap may restrict it to a group",
     "newuidmap установлен, имеет бит SUID root (или file capabilities), и u7s-admin может его запускать: control newuidmap в ALT может разрешить его только группе"),
    ("the same for newgidmap (control newgidmap)", "то же для newgidmap (control newgidmap)"),
    ("unprivileged user namespaces are enabled", "непривилегированные пространства имён пользователей включены"),
    ("/dev/net/tun exists and u7s-admin can open it", "/dev/net/tun существует, и u7s-admin может его открыть"),
    ("cgroup v2, with controllers delegated to systemd user managers", "cgroup v2, контроллеры делегированы пользовательским менеджерам systemd"),
    ("lingering is on for u7s-admin", "для u7s-admin включён linger"),
    ("no etcd data of an earlier cluster", "нет данных etcd прежнего кластера"),
    ("no u7s cluster runs on this host yet", "на этом узле ещё не работает кластер u7s"),
    ("the host ports the node forwards are free", "порты узла, которые он пробрасывает, свободны"),
    (
        "the registry has each image's tag, and kubeadm's and the CNI plugin's images are pulled; ignored, each failure of that step is a warning and kubelet pulls later",
        "на регистраторе есть тег каждого образа, образы kubeadm и CNI-плагина загружены; если проверка пропущена, каждая ошибка этого шага — предупреждение, а образы позже загрузит kubelet",
    ),
    // environment
    ("1 shows u7s's debug messages on stderr, as -v 3 would", "1 — отладочные сообщения u7s в stderr, как при -v 3"),
    ("absolute path of iproute2's ip (default /sbin/ip)", "абсолютный путь ip из iproute2 (по умолчанию /sbin/ip)"),
    ("absolute path of systemctl (default /usr/bin/systemctl)", "абсолютный путь systemctl (по умолчанию /usr/bin/systemctl)"),
    ("init/join: absolute path of skopeo, which lists the registry's tags before the pull (default /usr/bin/skopeo)",
     "init/join: абсолютный путь skopeo, который перед загрузкой получает список тегов из регистратора (по умолчанию /usr/bin/skopeo)"),
    ("init/join: absolute path of crictl, which pulls the CNI plugin's images (default /usr/bin/crictl)",
     "init/join: абсолютный путь crictl, который загружает образы сетевого модуля (по умолчанию /usr/bin/crictl)"),
    ("absolute path of the real kubeadm (default /usr/bin/kubeadm); never searched in PATH",
     "абсолютный путь настоящего kubeadm (по умолчанию /usr/bin/kubeadm); в PATH никогда не ищется"),
    ("absolute path of the real kubectl (default /usr/bin/kubectl); never searched in PATH",
     "абсолютный путь настоящего kubectl (по умолчанию /usr/bin/kubectl); в PATH никогда не ищется"),
    ("absolute path of the real kubectl that init uses (default /usr/bin/kubectl)",
     "абсолютный путь настоящего kubectl, которым пользуется init (по умолчанию /usr/bin/kubectl)"),
    ("absolute path of the real rootlessctl (default /usr/bin/rootlessctl)",
     "абсолютный путь настоящего rootlessctl (по умолчанию /usr/bin/rootlessctl)"),
    ("absolute path of the real rootlessctl (default /usr/bin/rootlessctl); never searched in PATH",
     "абсолютный путь настоящего rootlessctl (по умолчанию /usr/bin/rootlessctl); в PATH никогда не ищется"),
    ("absolute path of the real rootlesskit (default /usr/bin/rootlesskit)",
     "абсолютный путь настоящего rootlesskit (по умолчанию /usr/bin/rootlesskit)"),
    ("init/join: the Kubernetes version (v1.26.0 or later; default: the real kubeadm's own version)",
     "init/join: версия Kubernetes (v1.26.0 или новее; по умолчанию — версия самого настоящего kubeadm)"),
    ("init/join: the image registry with its platform path; empty means registry.k8s.io; unset: registry.local if /etc/hosts names it, else registry.altlinux.org, with the platform of /etc/os-release",
     "init/join: регистратор образов с путём платформы; пустое значение — registry.k8s.io; если не задана — registry.local, когда он есть в /etc/hosts, иначе registry.altlinux.org, с платформой из /etc/os-release"),
    ("init/join: the network plugin, flannel (default) or calico", "init/join: сетевой модуль, flannel (по умолчанию) или calico"),
    ("init/join: the platform path on the registry (k8s-p10, k8s-c10f1, p11, ...), replacing the computed one",
     "init/join: путь платформы в регистраторе (k8s-p10, k8s-c10f1, p11, ...) вместо вычисленного"),
    ("init/join: the flannel release; only the bundled one's (v0.26.7) is accepted", "init/join: выпуск flannel; принимается только встроенный (v0.26.7)"),
    ("milliseconds between two readiness checks (default 1000)", "миллисекунды между двумя проверками готовности (по умолчанию 1000)"),
    ("root: the kubeconfigs kubectl reads, each checked as above (unset: $HOME/.kube/config); u7s-admin: passed to kubectl as it is (unset: its own ~/.kube/config)",
     "root: kubeconfig, которые читает kubectl, каждый проверяется, как описано выше (если не задана — $HOME/.kube/config); u7s-admin: передаётся kubectl как есть (если не задана — его собственный ~/.kube/config)"),
    ("root: kubectl's ~/.kube (the default kubeconfig, caches, preferences) is checked like the kubeconfig",
     "root: каталог kubectl ~/.kube (kubeconfig по умолчанию, кэши, предпочтения) проверяется так же, как kubeconfig"),
    ("root: a file kubectl would read is not root's alone, the kubeconfig holds an entry off the whitelist, or /root/.kube/config is missing; u7s-admin: the rootlesskit child is not running or not ready, or the namespaces could not be entered",
     "root: файл, который прочитал бы kubectl, принадлежит не только root, в kubeconfig есть запись вне белого списка или нет /root/.kube/config; u7s-admin: дочерний процесс rootlesskit не запущен или не готов, либо не удалось войти в пространства имён"),
    ("readiness checks of the rootlesskit child before giving up (default 10)",
     "число проверок готовности дочернего процесса rootlesskit до отказа (по умолчанию 10)"),
    ("rootlesskit's state dir (default $XDG_RUNTIME_DIR/usernetes/rootlesskit)",
     "каталог состояния rootlesskit (по умолчанию $XDG_RUNTIME_DIR/usernetes/rootlesskit)"),
    ("set by u7s for the tools it runs; counts nested u7s calls so that a tool override pointing back at a shim stops with status 127 instead of looping",
     "задаёт u7s для запускаемых программ; считает вложенные вызовы u7s, чтобы переопределение программы, указывающее обратно на обёртку, завершалось с кодом 127, а не зацикливалось"),
    ("the CNI plugins bound on /opt/cni/bin (default /usr/libexec/cni)", "модули CNI, монтируемые на /opt/cni/bin (по умолчанию /usr/libexec/cni)"),
    ("the account that owns the namespaces (default u7s-admin)", "учётная запись, которой принадлежат пространства имён (по умолчанию u7s-admin)"),
    ("the command to run when none is given (default: u7s-admin's login shell, then /bin/sh)",
     "команда, если никакая не указана (по умолчанию — оболочка входа u7s-admin, затем /bin/sh)"),
    ("the env file the role reads (default $XDG_CONFIG_HOME/usernetes/env)", "файл окружения, который читает роль (по умолчанию $XDG_CONFIG_HOME/usernetes/env)"),
    ("the first one set and not empty picks the language of u7s's own messages on stderr: a value starting with ru gives Russian, anything else English (the real tools' output is never touched)",
     "первая заданная и непустая из них выбирает язык собственных сообщений u7s в stderr: значение, начинающееся с ru, — русский, любое другое — английский (вывод настоящих программ не меняется)"),
    ("the root of the host files that init/join read and write (default /); for tests",
     "корень файлов узла, которые читают и пишут init/join (по умолчанию /); для тестов"),
    ("the rootlesskit state dir holding child_pid, api.sock and _child_pid.u7s-ready (default /run/user/<uid of u7s-admin>/usernetes/rootlesskit)",
     "каталог состояния rootlesskit с child_pid, api.sock и _child_pid.u7s-ready (по умолчанию /run/user/<uid u7s-admin>/usernetes/rootlesskit)"),
    // exit statuses
    ("the tool's own", "код программы"),
    ("the real tool's exit status, unchanged; 128+N when it was killed by signal N",
     "код завершения настоящей программы без изменений; 128+N, если её убил сигнал N"),
    ("the rootlesskit child of u7s-admin is not running or not ready, or the namespaces could not be entered",
     "дочерний процесс rootlesskit пользователя u7s-admin не запущен или не готов, либо войти в пространства имён не удалось"),
    ("the rootlesskit child of u7s-admin is not running or not ready, its state or process failed the proof, or the namespaces could not be entered",
     "дочерний процесс rootlesskit пользователя u7s-admin не запущен или не готов, его состояние или процесс не прошли проверку, либо войти в пространства имён не удалось"),
    ("the real tool is not executable", "настоящая программа не является исполняемым файлом"),
    ("the real tool is not installed, its override is not an absolute path, or it leads back to u7s",
     "настоящая программа не установлена, её переопределение — не абсолютный путь или ведёт обратно к u7s"),
    ("init/join refused (an unknown flag or a missing value, not root, an overlapping network, ...) before anything was changed; or rootlesskit is not ready for another subcommand",
     "init/join отказались работать (неизвестный флаг или нет значения, запуск не от root, пересекающаяся сеть, ...) до каких-либо изменений; или для другой подкоманды не готов rootlesskit"),
    ("the command's own", "код команды"),
    ("the command's exit status, unchanged; 128+N when it was killed by signal N",
     "код завершения команды без изменений; 128+N, если её убил сигнал N"),
    ("the command's exit status; 128+N when it was killed by signal N, or when signal N stopped the role",
     "код завершения команды; 128+N, если её убил сигнал N или сигнал N остановил роль"),
    ("the command could not be run or was not found", "команду не удалось запустить или она не найдена"),
    ("the u7s-admin account does not exist", "учётной записи u7s-admin нет"),
    ("a bad option of nsenter_u7s itself (-v without a number)", "неверный параметр самого nsenter_u7s (-v без числа)"),
    ("a bad option of the role itself", "неверный параметр самой роли"),
    ("a setup step failed (the message names it), or the role was started as root or outside a rootlesskit user namespace",
     "шаг настройки не удался (сообщение его называет) или роль запущена от root либо вне пространства имён пользователя rootlesskit"),
];

/// The Russian text of `en` (white space in `en` normalised); `en` itself
/// when there is none (the completeness test keeps that from shipping).
pub fn ru(en: &str) -> String {
    let key = crate::error::one_line(en);
    RU.iter()
        .find(|(k, _)| crate::error::one_line(k) == key)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| en.to_owned())
}

pub fn has(en: &str) -> bool {
    let key = crate::error::one_line(en);
    RU.iter().any(|(k, _)| crate::error::one_line(k) == key)
}

/// Every text a command shows: about, long about, each argument's help,
/// recursively through subcommands.
pub fn texts(cmd: &Command) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(a) = cmd.get_about() {
        out.push(a.to_string());
    }
    if let Some(a) = cmd.get_long_about() {
        out.push(a.to_string());
    }
    for arg in cmd.get_arguments() {
        if let Some(h) = arg.get_help() {
            out.push(h.to_string());
        }
    }
    for sub in cmd.get_subcommands() {
        out.extend(texts(sub));
    }
    out
}

/// `cmd` with every text in Russian.
pub fn localize(mut cmd: Command) -> Command {
    if let Some(a) = cmd.get_about().map(|a| a.to_string()) {
        cmd = cmd.about(ru(&a));
    }
    if let Some(a) = cmd.get_long_about().map(|a| a.to_string()) {
        cmd = cmd.long_about(ru(&a));
    }
    let ids: Vec<String> = cmd
        .get_arguments()
        .map(|a| a.get_id().as_str().to_owned())
        .collect();
    for id in ids {
        cmd = cmd.mut_arg(id, |arg| match arg.get_help().map(|h| h.to_string()) {
            Some(h) => arg.help(ru(&h)),
            None => arg,
        });
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, localize);
    }
    cmd
}

/// The headings clap_mangen writes, and their Russian.
pub const HEADINGS: &[(&str, &str)] = &[
    (".SH NAME", ".SH ИМЯ"),
    (".SH SYNOPSIS", ".SH ОБЗОР"),
    (".SH DESCRIPTION", ".SH ОПИСАНИЕ"),
    (".SH OPTIONS", ".SH ПАРАМЕТРЫ"),
];

/// Every English text the man pages show.
pub fn all_texts() -> Vec<String> {
    use crate::docs;
    let mut out = vec![
        "u7s manual".to_owned(),
        "see".to_owned(),
        "the applet's own".to_owned(),
        "the applet's exit status".to_owned(),
        "no applet or an unknown applet was named".to_owned(),
    ];
    let mut u7s = docs::u7s();
    u7s.build();
    out.extend(texts(&u7s));
    for (name, about, _) in crate::applets::APPLETS {
        if crate::applets::is_hidden(name) {
            continue;
        }
        out.push(about.to_string());
        if let Some(mut cmd) = docs::applet_command(name) {
            cmd.build();
            out.extend(texts(&cmd));
        }
    }
    out.extend(
        crate::flow::preflight::NAMES
            .iter()
            .map(|(_, meaning)| meaning.to_string()),
    );
    for doc in docs::DOCS {
        out.extend(doc.environment.iter().map(|(_, m)| m.to_string()));
        for (tag, meaning) in doc.exit_status {
            if !tag
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == ',' || c == ' ')
            {
                out.push(tag.to_string());
            }
            out.push(meaning.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_of_the_man_pages_has_its_russian() {
        let missing: Vec<String> = all_texts().into_iter().filter(|t| !has(t)).collect();
        assert!(
            missing.is_empty(),
            "{} texts of the man pages have no Russian; add each to RU in src/docs_ru.rs:\n{}",
            missing.len(),
            missing.join("\n----\n")
        );
        for (en, ru) in RU {
            assert!(
                ru.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) || en == ru,
                "{en}: no Cyrillic in {ru}"
            );
        }
    }
}
