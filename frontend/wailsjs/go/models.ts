export namespace apperr {
	
	export interface Text {
	    text: string;
	    key?: string;
	    params?: Text[];
	    before?: string;
	    after?: string;
	}

}

export namespace config {
	
	export interface Settings {
	    server: string;
	    model: string;
	    timestamps: boolean;
	    concurrency: number;
	    chunkSeconds: number;
	    language: string;
	    task: string;
	    pnc?: boolean;
	    cacheDir: string;
	    cacheMaxMB: number;
	    ffmpegPath: string;
	    notifications: boolean;
	    speakers?: string;
	    tls: boolean;
	    caFile: string;
	    certFile: string;
	    clientKey?: string;
	    keyFile: string;
	    serverName: string;
	    headerNames: string;
	    uiLanguage: string;
	}

}

export namespace inference {
	
	export interface BatchStats {
	    batch_size: number;
	    execution_count: number;
	    compute_infer_ns: number;
	}
	export interface ModelStatus {
	    name: string;
	    ready: boolean;
	    state: string;
	    versions: string[];
	    inference_count: number;
	    execution_count: number;
	    success_count: number;
	    failure_count: number;
	    queue_ns: number;
	    compute_infer_ns: number;
	    reason?: string;
	    instances?: number;
	    kind?: string;
	    audio_input?: string;
	    warnings?: string[];
	    warning_texts?: apperr.Text[];
	    compute_input_ns: number;
	    compute_output_ns: number;
	    last_inference_ms: number;
	    batch_stats?: BatchStats[];
	}
	export interface ServerStatus {
	    address: string;
	    live: boolean;
	    ready: boolean;
	    name: string;
	    version: string;
	    models: ModelStatus[];
	    extensions?: string[];
	    tls: boolean;
	    replicas?: ServerStatus[];
	    error?: string;
	}

}

export namespace localserver {
	
	export interface Check {
	    id: string;
	    title: string;
	    state: string;
	    found: string;
	    fix?: string;
	}
	export interface DockerInfo {
	    clientVersion: string;
	    serverVersion: string;
	    platform: string;
	    desktop: boolean;
	    running: boolean;
	    composeVersion: string;
	    osType: string;
	    kernelVersion: string;
	    wsl2: boolean;
	    runtimes: string[];
	    gpuDevices?: string[];
	    rootDir: string;
	}
	export interface GPU {
	    name: string;
	    driver: string;
	    memoryMiB: number;
	}
	export interface ModelHealth {
	    name: string;
	    ready: boolean;
	    state: string;
	    reason?: string;
	}
	export interface ModelInfo {
	    name: string;
	    nemoModel: string;
	    shipped: boolean;
	}
	export interface Report {
	    os: string;
	    checks: Check[];
	    docker: DockerInfo;
	    gpus: GPU[];
	    tritonImage: string;
	    cuda: string;
	    minDriver: string;
	    diskPath: string;
	    freeBytes: number;
	    needBytes: number;
	    profile: string;
	    profileNote: string;
	    gpuReady: boolean;
	    canStart: boolean;
	}
	export interface StartOptions {
	    models: string[];
	    profile: string;
	    shareLAN: boolean;
	    grpcPort: number;
	    httpPort: number;
	    metricsPort: number;
	}
	export interface Status {
	    state: string;
	    message: string;
	    code?: string;
	    label: string;
	    address: string;
	    options: StartOptions;
	    container: string;
	    health?: string;
	    exitCode?: number;
	    models?: ModelHealth[];
	}

}

export namespace main {
	
	export interface Skipped {
	    path: string;
	    reason: string;
	    text?: apperr.Text;
	}
	export interface AddResult {
	    added: number[];
	    skipped: Skipped[];
	}
	export interface AudioData {
	    sampleRate: number;
	    pcm: string;
	    duration: number;
	    peaks: number[];
	}
	export interface ExportResult {
	    written: string[];
	    existing: string[];
	    failed: Skipped[];
	    folders: string[];
	}
	export interface FFmpegInfo {
	    found: boolean;
	    path: string;
	}
	export interface LiveInfo {
	    id: string;
	    server: string;
	    model: string;
	    sampleRate: number;
	}
	export interface LiveRecovered {
	    id: string;
	    historyId: number;
	    warnings: string[];
	}
	export interface LiveStopped {
	    id: string;
	    historyId: number;
	    audioPath: string;
	    duration: number;
	    untranscribed: number;
	    warnings: string[];
	}

}

export namespace speakers {
	
	export interface Snapshot {
	    speakers: transcript.Speaker[];
	    segments: string[];
	}

}

export namespace store {
	
	export interface Hit {
	    id: number;
	    source: string;
	    name: string;
	    sha256: string;
	    server: string;
	    model: string;
	    modelVersion: string;
	    options: number[];
	    duration: number;
	    preview: string;
	    // Go type: time
	    createdAt: any;
	    // Go type: time
	    updatedAt: any;
	    speakers?: transcript.Speaker[];
	    snippet: string;
	}

}

export namespace transcribe {
	
	export interface Progress {
	    jobId?: number;
	    path: string;
	    stage: string;
	    chunksDone: number;
	    chunksTotal: number;
	    fraction: number;
	    chunksReused: number;
	    audioSeconds: number;
	    doneSeconds: number;
	    realtimeFactor: number;
	    etaSeconds: number;
	    reused?: boolean;
	    note?: string;
	    noteText?: apperr.Text;
	}
	export interface SpeakerOptions {
	    count?: number;
	    min?: number;
	    max?: number;
	    model?: string;
	}
	export interface Request {
	    path: string;
	    server: string;
	    model: string;
	    cacheDir: string;
	    outDir: string;
	    formats: string[];
	    outName?: string;
	    timestamps: boolean;
	    sourceLang?: string;
	    targetLang?: string;
	    task?: string;
	    pnc?: boolean;
	    chunkSeconds?: number;
	    concurrency?: number;
	    force?: boolean;
	    overwrite?: boolean;
	    txtTimestamps?: boolean;
	    decoder?: string;
	    ffmpegPath?: string;
	    channel?: number;
	    speakers?: SpeakerOptions;
	}
	export interface Job {
	    id: number;
	    request: Request;
	    state: string;
	    progress: Progress;
	    error?: string;
	    errorCode?: string;
	    errorText?: apperr.Text;
	    existingOutputs?: string[];
	    outputs: string[];
	    historyId?: number;
	    reused?: boolean;
	    warnings?: string[];
	    warningTexts?: apperr.Text[];
	    diarization?: string;
	    diarizationError?: string;
	    attempts: number;
	    // Go type: time
	    added: any;
	    // Go type: time
	    started: any;
	    // Go type: time
	    finished: any;
	}
	
	
	export interface Result {
	    transcript: transcript.Transcript;
	    outputs: string[];
	    historyId?: number;
	    reused?: boolean;
	    warnings?: string[];
	    warningTexts?: apperr.Text[];
	    diarization?: string;
	    diarizationError?: string;
	}

}

export namespace transcript {
	
	export interface Word {
	    word: string;
	    start: number;
	    end: number;
	    speaker?: string;
	}
	export interface Segment {
	    start: number;
	    end: number;
	    text: string;
	    words: Word[];
	    speaker?: string;
	}
	export interface Speaker {
	    id: string;
	    label: string;
	    seconds: number;
	}
	export interface Transcript {
	    source: string;
	    sha256: string;
	    duration: number;
	    model: string;
	    text: string;
	    segments: Segment[];
	    speakers?: Speaker[];
	}

}

