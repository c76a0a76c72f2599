// Brazilian Portuguese for Go's sentences (./en.ts, generated from the Go code): the same keys and {1}, {2}, … placeholders;
// written by hand, so a new or reworded sentence in Go fails `npm run check` here until it is translated.
import type { Part } from '../../types';
import type { errorsEn } from './en';

export const errorsPtBR: Part<typeof errorsEn> = {
  // app_localserver.go
  'go.76b2cf88': "não foi possível encontrar a pasta do servidor local: {1}",
  'go.d9c6ebe6': "não foi possível listar os modelos do servidor local: {1}",
  'go.fbb9d8c8': "o Docker não informou em {1} o estado do servidor local: tente de novo em um minuto",
  // backend/apperr/text.go
  'go.845df81c': "cancelado",
  // backend/cache/cache.go
  'go.eee064a7': "nenhuma pasta de cache definida; escolha uma nas Configurações ou com --cache-dir",
  'go.9ff31936': "não é possível usar a pasta de cache {1}: {2}; escolha outra nas Configurações ou com --cache-dir",
  // backend/inference/model.go
  'go.788b27f3': "o modelo {1} em {2} não segue o contrato de modelos do NeMo Transcribe: {3}",
  'go.58827a22': "o modelo {1} devolveu uma saída {2} que não é um único elemento de texto",
  'go.cbc6f62b': "o modelo {1} devolveu uma saída {2} que não é um único elemento JSON",
  'go.8c2718b1': "modelo {1}: {2}",
  // backend/inference/retry.go
  'go.1ab518bf': "{1} ({2} tentativas em {3})",
  // backend/inference/server.go
  'go.5cee2d1e': "nenhum endereço de servidor: digite host:porta do endpoint gRPC de um servidor Triton (normalmente a porta 8001)",
  'go.3afb5f91': "a entrada de áudio {1} não está no contrato: use {2}, {3} ou {4}, ou deixe vazio para a mais compacta",
  'go.f1617232': "a prioridade de requisição {1} é negativa: use 0 para o padrão do modelo, 1 para a mais alta",
  'go.ef1c4f05': "configurações de TLS: {1}",
  'go.d8914f9e': "cabeçalhos de requisição: {1}",
  'go.2737e7ff': "{1}: use host:porta, p. ex. localhost:8001",
  'go.2871114d': "o endereço de servidor {1} não é válido: use host:porta, p. ex. localhost:8001",
  'go.8233d55f': "o servidor {1} não tem o modelo {2} (modelos disponíveis: {3})",
  'go.eb5bac58': "o modelo {1} em {2} ainda não está pronto após {3} (estado {4}): espere o servidor terminar de carregá-lo e tente de novo",
  'go.64e6ade1': "o modelo {1} está no repositório de {2}, mas não está carregado: o servidor só carrega modelos quando solicitado (controle explícito de modelos); carregue-o lá, p. ex. iniciando o tritonserver com --load-model={3}",
  'go.d10204d7': "o modelo {1} foi descarregado em {2}: carregue-o lá de novo",
  'go.3ac71851': "o modelo {1} em {2} não está disponível: {3}",
  'go.e7b2a6b3': "ao comunicar com {1}: {2}",
  'go.d887ef69': "o servidor em {1} respondeu em HTTP/1.1, não em gRPC: provavelmente é a porta HTTP do Triton (normalmente 8000); use a porta gRPC (normalmente 8001)",
  'go.5fd6e84a': "não é possível alcançar um servidor Triton em {1}: verifique o endereço e se o servidor está em execução (a porta gRPC do Triton costuma ser 8001)",
  'go.54a147e9': "o modelo {1} em {2} não está pronto ({3}): espere o servidor terminar de carregá-lo",
  'go.c0e0ec2c': "o servidor Triton em {1} está indisponível ({2}): talvez esteja reiniciando ou sobrecarregado; tente de novo em instantes",
  'go.570cb7e7': "o servidor Triton em {1} está sobrecarregado ({2}): reduza o número de trechos em andamento ou tente mais tarde",
  'go.452a3d2b': "uma requisição era grande demais para {1} ou um gateway à frente dele ({2}): aumente o limite de tamanho de mensagem do gateway",
  'go.b78ca3d9': "o servidor Triton em {1} não respondeu a tempo: verifique o endereço e a rede (a porta gRPC do Triton costuma ser 8001)",
  'go.8cbc7bb2': "o servidor Triton em {1}, ou um proxy à frente dele, cancelou a requisição ({2}): tente de novo; se continuar acontecendo, veja o log do servidor",
  'go.5b8a2e9f': "o modelo {1} em {2} não tem nenhuma versão pronta: {3}",
  'go.8158ee39': "o servidor Triton em {1} respondeu {2}: {3}",
  'go.b160f52d': "o servidor em {1} espera TLS, mas a conexão não é criptografada: ative o TLS (CLI: --tls)",
  'go.9d384dad': "o servidor em {1} não usa TLS: desative o TLS ou ative-o no servidor",
  'go.45b6ceea': "o certificado TLS de {1} não é assinado por uma autoridade em que este computador confia: defina o certificado de CA que o assinou (CLI: --tls-ca FILE)",
  'go.051c782c': "o certificado TLS de {1} é para outro nome ({2}): conecte-se por um nome listado nele ou defina o nome de servidor esperado (CLI: --tls-server-name)",
  'go.5894d1c6': "o servidor em {1} exige um certificado de cliente confiável: defina um certificado de cliente e a chave (CLI: --tls-cert FILE --tls-key FILE)",
  'go.302bfc4b': "o handshake TLS com {1} falhou: {2}",
  // backend/inference/speaker.go
  'go.c28cdd73': "o servidor {1} não tem pronto nenhum modelo de identificação de falantes (um modelo cuja configuração diga kind {2}, como o titanet-large): é preciso um para distinguir os falantes",
  'go.d591f8dc': "o modelo {1} em {2} não é um modelo de identificação de falantes que o NeMo Transcribe possa usar: {3}",
  'go.72cd8546': "o intervalo [{1}, {2}) não está dentro do trecho {3} de {4} amostras",
  'go.67f4e29b': "o modelo {1} devolveu {2}: {3}",
  // backend/live/live.go
  'go.fca8c363': "não é possível criar a pasta de gravações ao vivo {1}: {2}",
  'go.ecf7ce2a': "não é possível iniciar a gravação em {1}: {2}",
  'go.09d77fad': "não é possível criar o arquivo de áudio da gravação: {1}",
  'go.a99db4c0': "não é possível gravar o áudio da gravação: {1}",
  'go.9395660d': "não é possível ler de volta da gravação a fala em {1}: {2}",
  'go.2db20a00': "a sessão ao vivo {1} não foi fechada corretamente: {2} (a nota em {3} permite que Recuperar a conclua)",
  // backend/localserver/faults.go
  'go.c52d9202': "o Docker não respondeu a tempo: talvez ainda esteja iniciando; tente de novo em um minuto",
  'go.7724478c': "o Docker recusou este usuário: adicione sua conta ao grupo docker-users e entre de novo",
  'go.5af0dbd5': "o Docker recusou este usuário: adicione sua conta ao grupo docker (sudo usermod -aG docker $USER) e entre de novo",
  'go.fc480aef': "o disco onde o Docker guarda imagens e volumes está cheio: libere espaço (o servidor precisa de cerca de {1} GB) e inicie de novo",
  'go.e2d7e4ef': "um download falhou: este computador parece estar offline ou não alcança o registro de imagens ({1}); conecte-se à internet e inicie de novo — o primeiro início baixa cerca de 10 GB",
  'go.5e5d1b57': "{1} falhou: {2}",
  'go.595d1378': "{1} falhou: {2}",
  // backend/localserver/lifecycle.go
  'go.0d22a1e5': "o servidor local ainda não foi iniciado: clique em Iniciar",
  'go.097e775b': "o aplicativo não consegue perguntar ao servidor local se está pronto (sem sonda)",
  'go.5521c6df': "o contêiner do servidor sumiu enquanto iniciava (removido fora do aplicativo?): clique em Iniciar de novo",
  'go.57577abf': "o servidor parou ao iniciar (código de saída {1}): veja o log dele",
  'go.ecd04c8b': "o servidor local não estava pronto após {1}: veja o log dele (talvez um download lento ainda esteja em andamento; clique em Iniciar de novo para continuar esperando)",
  'go.e0faa6ad': "o início foi interrompido antes de o servidor ficar pronto",
  'go.3c456489': "o servidor local ainda não foi iniciado, então não há log",
  // backend/localserver/localserver.go
  'go.eef3746a': "não foi possível gravar os arquivos do servidor local: {1}",
  'go.6cb26a3f': "perfil de servidor desconhecido {1}: escolha gpu ou cpu",
  'go.3d731cd6': "marque pelo menos um modelo para o servidor local carregar",
  'go.c7e33d9f': "não há modelo {1} para o servidor local (disponíveis: {2})",
  'go.acf0192e': "{1} não é um número de porta (de 1 a 65535)",
  'go.01ef3291': "as três portas do servidor devem ser diferentes (gRPC {1}, HTTP {2}, métricas {3})",
  'go.4188313e': "a porta {1} em {2} já está em uso por outro programa: encerre esse programa ou escolha outra porta para o servidor local",
  // backend/secrets/clientkey.go
  'go.bbd8c419': "não é possível ler o arquivo de chave: {1}",
  'go.66d40249': "a chave em {1} é protegida por uma frase secreta, que o aplicativo não aceita: salve uma cópia sem criptografia (openssl pkey -in {2} -out key.pem), escolha essa cópia e depois apague-a; o aplicativo guarda a chave no chaveiro do sistema",
  'go.30459ee1': "{1} não contém nenhuma chave privada em formato PEM (um bloco que começa com -----BEGIN PRIVATE KEY-----): escolha o arquivo de chave do certificado de cliente",
  'go.fd8a773e': "não é possível ler o certificado de cliente: {1}",
  'go.0cd7e788': "a chave em {1} não é a do certificado {2}: escolha a chave que foi criada com esse certificado",
  'go.0e84809a': "{1} não contém nenhum certificado em formato PEM (um bloco que começa com -----BEGIN CERTIFICATE-----): escolha o arquivo do certificado de cliente",
  'go.1ec9dd6c': "a chave em {1} não pode ser lida: está danificada ou é de um tipo que o Go não suporta (use RSA, ECDSA ou Ed25519)",
  'go.5626f15d': "não é possível usar a chave em {1} com o certificado {2}: {3}",
  // backend/secrets/conn.go
  'go.ccfe2908': "a chave de cliente ({1}) não está no chaveiro: escolha o arquivo de chave de novo nas Configurações",
  // backend/transcribe/diarize.go
  'go.c9deb830': "identificar os falantes de uma transcrição salva exige o histórico do aplicativo, e este mecanismo não o mantém",
  'go.9b42378c': "o histórico não tem nenhuma entrada {1}",
  'go.e2f6e8ec': "o áudio desta transcrição sumiu: não está mais na pasta de cache {1}, e {2} não existe mais; coloque o arquivo de volta lá para encontrar os falantes",
  'go.d6a60f51': "{1} mudou desde que foi transcrito, e a cópia transcrita na época não está mais no cache: transcreva-o de novo para encontrar os falantes",
  // backend/transcribe/engine.go
  'go.3dcb036b': "trechos de {1} s são longos demais: no máximo {2} s",
  'go.f09d5459': "não é possível abrir o banco de dados do aplicativo em {1}: {2}",
  'go.94e6581e': "as configurações de conexão mudaram {1} vezes enquanto o trecho {2} era enviado: tente de novo",
  // backend/transcribe/output.go
  'go.a036805a': "não é possível criar a pasta de saída {1}: {2}",
  'go.e3eb7961': "nenhum nome para os arquivos de saída",
  'go.6d2bcd2f': "não é possível gerar {1}: {2}",
  'go.1f1936d4': "não é possível verificar o arquivo de saída {1}: {2}",
  // backend/transcribe/plan.go
  'go.411f7dfc': "decodificador {1}: use auto, builtin ou ffmpeg",
  // backend/transcribe/queue.go
  'go.bfd49049': "o trabalho neste arquivo foi interrompido antes de terminar (uma conexão foi fechada ou cancelada): tente de novo",
  // backend/transcribe/run.go
  'go.bdc4fbb2': "a duração de trecho de {1} s não está entre 1 e {2} s",
  'go.17f4c375': "aguardando o modelo {1} carregar ({2}, {3} até agora)",
  'go.fdf72893': "tentando de novo o trecho {1} (tentativa {2} de {3}): {4}",
  'go.58967685': "o mesmo áudio está sendo transcrito para outro arquivo: aguardando para reutilizar o resultado",
  'go.8f7e3be9': "identificando os falantes",
  'go.e90b0342': "o arquivo não contém amostras de áudio",
  'go.89cb15ba': "o arquivo está vazio: não há nada para transcrever",
  'go.239ccf65': "o arquivo não tem faixa de áudio",
  'go.4c688e89': "o ffmpeg não conseguiu decodificar o arquivo: {1}",
  'go.11b44335': "o canal escolhido não serve para este arquivo: {1} (os canais são contados a partir de 0)",
  'go.c5b3f4cc': "não é um arquivo de áudio que esta versão consiga ler: {1}",
  'go.e95ab02e': "o arquivo de áudio está danificado: {1}",
  'go.93b9c3aa': "não é possível ler o áudio: {1}",
  'go.9fd053ed': "não é possível usar o banco de dados do aplicativo: {1}",
  // backend/transcribe/speakers.go
  'go.a24e695c': "as configurações de conexão mudaram {1} vezes enquanto os falantes do trecho {2} eram pedidos: tente de novo",
  'go.d80084a2': "o número de falantes não pode ser negativo",
  'go.3d11b046': "informe um número exato de falantes ou um mínimo e um máximo, não os dois",
  'go.d00ed1dc': "pelo menos {1} falantes, mas no máximo {2}: o mínimo não pode passar do máximo",
  'go.1ba013e7': "não foi possível distinguir os falantes: {1}",
};
