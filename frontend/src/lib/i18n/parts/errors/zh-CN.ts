// Simplified Chinese for Go's sentences (./en.ts, generated from the Go code): the same keys and {1}, {2}, … placeholders;
// written by hand, so a new or reworded sentence in Go fails `npm run check` here until it is translated.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsZhCN: Part<typeof errorsEn> = {
  // app_localserver.go
  'go.76b2cf88': "找不到本地服务器的文件夹：{1}",
  'go.d9c6ebe6': "无法列出本地服务器的模型：{1}",
  'go.fbb9d8c8': "Docker 未在 {1} 内报告本地服务器的状态：请一分钟后重试",
  // backend/apperr/text.go
  'go.845df81c': "已取消",
  // backend/cache/cache.go
  'go.eee064a7': "未设置缓存文件夹；请在设置中或用 --cache-dir 选择一个",
  'go.9ff31936': "无法使用缓存文件夹 {1}：{2}；请在设置中或用 --cache-dir 另选一个",
  // backend/inference/model.go
  'go.788b27f3': "{2} 上的模型 {1} 不符合 NeMo Transcribe 的模型约定：{3}",
  'go.58827a22': "模型 {1} 返回的输出 {2} 不是单个文本元素",
  'go.cbc6f62b': "模型 {1} 返回的输出 {2} 不是单个 JSON 元素",
  'go.8c2718b1': "模型 {1}：{2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1}（在 {3} 内尝试了 {2} 次）",
  // backend/inference/server.go
  'go.5cee2d1e': "未设置服务器地址：请输入 Triton 服务器 gRPC 端点的 host:port（通常为端口 8001）",
  'go.3afb5f91': "音频输入 {1} 不在约定之中：请使用 {2}、{3} 或 {4}，或留空以使用最紧凑的一种",
  'go.f1617232': "请求优先级 {1} 为负数：0 表示模型默认值，1 表示最高",
  'go.ef1c4f05': "TLS 设置：{1}",
  'go.d8914f9e': "请求头：{1}",
  'go.2737e7ff': "{1}：请使用 host:port，例如 localhost:8001",
  'go.2871114d': "服务器地址 {1} 无效：请使用 host:port，例如 localhost:8001",
  'go.8233d55f': "服务器 {1} 上没有模型 {2}（现有模型：{3}）",
  'go.eb5bac58': "{2} 上的模型 {1} 在 {3} 后仍未就绪（状态 {4}）：请等待服务器加载完成后重试",
  'go.64e6ade1': "模型 {1} 在 {2} 的模型库中，但未加载：该服务器只在请求时加载模型（显式模型控制），请在服务器上加载它，例如用 --load-model={3} 启动 tritonserver",
  'go.d10204d7': "模型 {1} 已在 {2} 上卸载：请在那里重新加载",
  'go.3ac71851': "{2} 上的模型 {1} 不可用：{3}",
  'go.e7b2a6b3': "与 {1} 通信时：{2}",
  'go.d887ef69': "{1} 的服务器以 HTTP/1.1 而非 gRPC 应答：这很可能是 Triton 的 HTTP 端口（通常为 8000）；请使用其 gRPC 端口（通常为 8001）",
  'go.5fd6e84a': "无法连接 {1} 上的 Triton 服务器：请检查地址以及服务器是否在运行（Triton 的 gRPC 端口通常为 8001）",
  'go.54a147e9': "{2} 上的模型 {1} 尚未就绪（{3}）：请等待服务器加载完成",
  'go.c0e0ec2c': "{1} 的 Triton 服务器不可用（{2}）：它可能正在重启或过载；请稍后重试",
  'go.570cb7e7': "{1} 的 Triton 服务器过载（{2}）：请减少同时发送的音频块数，或稍后重试",
  'go.452a3d2b': "请求对 {1} 或其前面的网关来说过大（{2}）：请提高网关的消息大小上限",
  'go.b78ca3d9': "{1} 的 Triton 服务器未及时应答：请检查地址和网络（Triton 的 gRPC 端口通常为 8001）",
  'go.8cbc7bb2': "{1} 的 Triton 服务器或其前面的代理取消了请求（{2}）：请重试；如果反复出现，请查看服务器日志",
  'go.5b8a2e9f': "{2} 上的模型 {1} 没有就绪的版本：{3}",
  'go.8158ee39': "{1} 的 Triton 服务器应答 {2}：{3}",
  'go.b160f52d': "{1} 的服务器要求 TLS，但连接未加密：请开启 TLS（CLI：--tls）",
  'go.9d384dad': "{1} 的服务器未使用 TLS：请关闭 TLS，或在服务器上启用 TLS",
  'go.45b6ceea': "{1} 的 TLS 证书不是由本机信任的机构签发的：请设置签发它的 CA 证书（CLI：--tls-ca FILE）",
  'go.051c782c': "{1} 的 TLS 证书属于另一个名称（{2}）：请用证书中列出的名称连接，或设置预期的服务器名称（CLI：--tls-server-name）",
  'go.5894d1c6': "{1} 的服务器要求其信任的客户端证书：请设置客户端证书和密钥（CLI：--tls-cert FILE --tls-key FILE）",
  'go.302bfc4b': "与 {1} 的 TLS 握手失败：{2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "服务器 {1} 上没有就绪的说话人嵌入模型（配置中 kind 为 {2} 的模型，例如 titanet-large）：区分说话人需要一个",
  'go.d591f8dc': "{2} 上的模型 {1} 不是 NeMo Transcribe 可用的说话人嵌入模型：{3}",
  'go.72cd8546': "区间 [{1}, {2}) 不在第 {3} 个音频块（{4} 个采样）之内",
  'go.67f4e29b': "模型 {1} 返回了 {2}：{3}",
  // backend/live/live.go
  'go.fca8c363': "无法创建实时录音文件夹 {1}：{2}",
  'go.ecf7ce2a': "无法在 {1} 中开始录音：{2}",
  'go.09d77fad': "无法创建录音的音频文件：{1}",
  'go.a99db4c0': "无法写入录音的音频：{1}",
  'go.9395660d': "无法从录音中读回 {1} 处的语句：{2}",
  'go.2db20a00': "实时会话 {1} 未正常关闭：{2}（{3} 中的记录可供“恢复”完成它）",
  // backend/localserver/faults.go
  'go.c52d9202': "Docker 未及时应答：它可能仍在启动；请一分钟后重试",
  'go.7724478c': "Docker 拒绝了此用户：请将你的账户加入 docker-users 组并重新登录",
  'go.5af0dbd5': "Docker 拒绝了此用户：请将你的账户加入 docker 组（sudo usermod -aG docker $USER）并重新登录",
  'go.fc480aef': "Docker 存放镜像和卷的磁盘已满：请腾出空间（服务器约需 {1} GB）后重新启动",
  'go.e2d7e4ef': "下载失败：此计算机似乎处于离线状态，或无法访问镜像仓库（{1}）；请连接互联网后重新启动——首次启动约需下载 10 GB",
  'go.5e5d1b57': "{1} 失败：{2}",
  'go.595d1378': "{1} 失败：{2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "本地服务器尚未启动：请按“启动”",
  'go.097e775b': "应用无法询问本地服务器是否就绪（没有探测器）",
  'go.5521c6df': "服务器的容器在启动时消失了（是否在应用之外被删除？）：请再次按“启动”",
  'go.57577abf': "服务器在启动时停止（退出代码 {1}）：请查看其日志",
  'go.ecd04c8b': "本地服务器在 {1} 后仍未就绪：请查看其日志（可能仍有缓慢的下载在进行；再次按“启动”可继续等待）",
  'go.e0faa6ad': "在服务器就绪之前启动已被中止",
  'go.3c456489': "本地服务器尚未启动，因此没有日志",
  // backend/localserver/localserver.go
  'go.eef3746a': "写入本地服务器的文件失败：{1}",
  'go.6cb26a3f': "未知的服务器配置 {1}：请选择 gpu 或 cpu",
  'go.3d731cd6': "请至少勾选一个让本地服务器加载的模型",
  'go.c7e33d9f': "本地服务器没有模型 {1}（可用：{2}）",
  'go.acf0192e': "{1} 不是端口号（1 到 65535）",
  'go.01ef3291': "服务器的三个端口必须互不相同（gRPC {1}、HTTP {2}、指标 {3}）",
  'go.4188313e': "{2} 上的端口 {1} 已被另一个程序占用：请停止该程序，或为本地服务器另选端口",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "无法读取密钥文件：{1}",
  'go.66d40249': "{1} 中的密钥受密码短语保护，而应用不接受密码短语：请保存一份未加密的副本（openssl pkey -in {2} -out key.pem），选择该副本后将其删除；应用会把密钥保存在系统密钥环中",
  'go.30459ee1': "{1} 中没有 PEM 格式的私钥（以 -----BEGIN PRIVATE KEY----- 开头的块）：请选择客户端证书的密钥文件",
  'go.fd8a773e': "无法读取客户端证书：{1}",
  'go.0cd7e788': "{1} 中的密钥不是证书 {2} 的密钥：请选择与该证书一起生成的密钥",
  'go.0e84809a': "{1} 中没有 PEM 格式的证书（以 -----BEGIN CERTIFICATE----- 开头的块）：请选择客户端证书文件",
  'go.1ec9dd6c': "无法读取 {1} 中的密钥：它已损坏，或属于 Go 不支持的类型（请使用 RSA、ECDSA 或 Ed25519）",
  'go.5626f15d': "无法将 {1} 中的密钥与证书 {2} 一起使用：{3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "客户端密钥（{1}）不在密钥环中：请在设置中重新选择密钥文件",
  // backend/transcribe/diarize.go
  'go.c9deb830': "对已保存的转写稿进行说话人分离需要应用的历史记录，而此引擎不保留历史记录",
  'go.9b42378c': "历史记录中没有条目 {1}",
  'go.e2f6e8ec': "此转写稿的音频已不存在：它已不在缓存文件夹 {1} 中，{2} 也已不存在；请把文件放回原处以查找说话人",
  'go.d6a60f51': "{1} 在转写后已被修改，而当时转写的副本已不在缓存中：请重新转写以查找说话人",
  // backend/transcribe/engine.go
  'go.3dcb036b': "{1} 秒的音频块太长：最多 {2} 秒",
  'go.f09d5459': "无法打开 {1} 中的应用数据库：{2}",
  'go.94e6581e': "发送第 {2} 个音频块时连接设置变更了 {1} 次：请重试",
  // backend/transcribe/output.go
  'go.a036805a': "无法创建输出文件夹 {1}：{2}",
  'go.e3eb7961': "输出文件没有名称",
  'go.6d2bcd2f': "无法生成 {1}：{2}",
  'go.1f1936d4': "无法检查输出文件 {1}：{2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "解码器 {1}：请使用 auto、builtin 或 ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "此文件的处理在完成前被中断（某个连接已关闭或被取消）：请重试",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "音频块长度 {1} 秒不在 1 到 {2} 秒之间",
  'go.17f4c375': "正在等待模型 {1} 加载（{2}，已等 {3}）",
  'go.fdf72893': "正在重试第 {1} 个音频块（第 {2} 次，共 {3} 次）：{4}",
  'go.58967685': "相同的音频正在为另一个文件转写：等待复用其结果",
  'go.8f7e3be9': "正在识别说话人",
  'go.e90b0342': "该文件不含音频采样",
  'go.89cb15ba': "该文件为空：没有可转写的内容",
  'go.239ccf65': "该文件没有音轨",
  'go.4c688e89': "ffmpeg 无法解码该文件：{1}",
  'go.11b44335': "所选声道不适用于此文件：{1}（声道从 0 开始计数）",
  'go.c5b3f4cc': "不是此版本能读取的音频文件：{1}",
  'go.e95ab02e': "音频文件已损坏：{1}",
  'go.93b9c3aa': "无法读取音频：{1}",
  'go.9fd053ed': "无法使用应用数据库：{1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "查询第 {2} 个音频块的说话人时连接设置变更了 {1} 次：请重试",
  'go.d80084a2': "说话人数不能为负数",
  'go.3d11b046': "请给出确切的说话人数，或给出最小值和最大值，不要同时给出",
  'go.d00ed1dc': "说话人至少 {1} 个但至多 {2} 个：最小值不能大于最大值",
  'go.1ba013e7': "无法区分说话人：{1}",
};
